/** The fusion ops (spec node kinds) over the custom layers of ./layers.ts. */
import { tf, tfl } from '../../engine/index.js';
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

/**
 * The GMU gate's pre-activations: a Dense whose bias starts at `biasInit` (one value per
 * modality block, repeated over its units) and whose kernel starts at zero, so that every movie
 * starts at the configured prior share (GmuOptions.gatePrior). The stock 'dense' op has no
 * bias initialiser; the values are written after the seeded build, so the rest is unchanged.
 */
registerOp('gate_dense', {
  build: ({ node, inputs }) => {
    const units = int(node, 'units');
    const bias = node.params.biasInit;
    if (
      !Array.isArray(bias) ||
      bias.length === 0 ||
      units % bias.length !== 0 ||
      bias.some((v) => typeof v !== 'number')
    )
      throw new Error(`node '${node.id}' (gate_dense): biasInit must be 1 or one number per modality block`);
    const layer = tfl.layers.dense({ name: node.id, units, activation: 'linear', trainable: !node.frozen });
    const out = layer.apply(inputs[0]) as SymbolicTensor;
    const per = units / bias.length;
    const values = Float32Array.from({ length: units }, (_, u) => bias[Math.floor(u / per)] as number);
    const [kernel] = layer.getWeights();
    tf.tidy(() => layer.setWeights([tf.zerosLike(kernel), tf.tensor1d(values)]));
    return out;
  },
  describe: (n) => `Dense ${int(n, 'units')} · gate logits, bias from the prior`,
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
