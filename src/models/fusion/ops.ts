/** The fusion ops (spec node kinds) over the custom layers of ./layers.ts. */
import { tfl } from '../../engine/index.js';
import { registerOp } from '../ops.js';
import { OUTPUT_OPS, type LayerNode } from '../spec.js';
import { ExpertGate, GmuCombine, GmuGate, MissingEmbedding, MixtureLogits } from './layers.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;

const int = (n: LayerNode, key: string): number => {
  const v = n.params[key];
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new Error(`node '${n.id}' (${n.op}): param '${key}' must be an integer, got ${JSON.stringify(v)}`);
  return v;
};

registerOp('gmu_gate', {
  build: ({ node, inputs }) =>
    new GmuGate({ name: node.id, modalities: int(node, 'modalities'), units: int(node, 'units') }).apply(
      inputs,
    ) as SymbolicTensor,
  describe: (n) =>
    int(n, 'modalities') === 2
      ? `GMU gate z = σ(W_z [x]) · ${int(n, 'units')} units, masked`
      : `GMU gate softmax over ${int(n, 'modalities')} modalities · ${int(n, 'units')} units, masked`,
});

registerOp('gmu_combine', {
  build: ({ node, inputs }) => new GmuCombine({ name: node.id }).apply(inputs) as SymbolicTensor,
  describe: () => 'h = Σ zᵢ · hᵢ',
});

registerOp('missing_embedding', {
  build: ({ node, inputs }) =>
    new MissingEmbedding({ name: node.id, trainable: !node.frozen }).apply(inputs) as SymbolicTensor,
  describe: () => 'Learned embedding when the modality is missing',
});

registerOp('expert_gate', {
  build: ({ node, inputs }) => new ExpertGate({ name: node.id }).apply(inputs) as SymbolicTensor,
  describe: (n) => `Gate: softmax over ${n.inputs.length - 1} experts, masked`,
});

/** Mixture of the experts' probabilities; the model's output (logits layer, then sigmoid). */
registerOp('mixture_output', {
  build: ({ node, inputs }) => {
    const logits = new MixtureLogits({ name: `${node.id}_logits` }).apply(inputs) as SymbolicTensor;
    return tfl.layers.activation({ name: node.id, activation: 'sigmoid' }).apply(logits) as SymbolicTensor;
  },
  describe: (n) => `p = Σ gᵢ · σ(expertᵢ) over ${int(n, 'units')} genres`,
});
OUTPUT_OPS.add('mixture_output');
