/** From a spec to a tfjs-layers model, deterministically for a seed. */
import { tfl } from '../engine/index.js';
import { getOp } from './ops.js';
import { SeededRandom, subSeed, withSeededRandom } from '../util/random.js';
import { validateSpec, type ModelSpec } from './spec.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;
export type LayersModel = InstanceType<typeof tfl.LayersModel>;

export interface BuiltModel {
  /** Inputs in spec order → probabilities over the labels. This is what is saved. */
  model: LayersModel;
  /** The same layers (shared weights) → logits, for the training loss. */
  logitsModel: LayersModel;
}

export interface BuildOptions {
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
}

/** Build the tfjs model of a spec; the same seed gives the same initial weights. */
export function buildModel(spec: ModelSpec, opts: BuildOptions = {}): BuiltModel {
  validateSpec(spec);
  const rng = new SeededRandom(subSeed(opts.seed ?? 0, 'init'));
  return withSeededRandom(rng, () => {
    const tensors = new Map<string, SymbolicTensor>();
    const inputs = spec.inputs.map((i) => {
      // Token sequences have a variable length: batches are padded to their own longest one.
      const shape = i.source.kind === 'sequence' ? [null] : i.shape;
      const t = tfl.input({ name: i.id, shape, dtype: i.dtype });
      tensors.set(i.id, t);
      return t;
    });
    for (const node of spec.nodes) {
      const args = node.inputs.map((id) => tensors.get(id)!);
      tensors.set(node.id, getOp(node.op).build({ node, inputs: args, spec }));
    }
    const output = tensors.get(spec.output)!;
    const model = tfl.model({ name: spec.family, inputs, outputs: output });
    // The output op ends in a sigmoid activation layer whose input is the logits.
    const logits = model.getLayer(spec.output).input as SymbolicTensor;
    const logitsModel = tfl.model({ name: `${spec.family}_logits`, inputs, outputs: logits });
    return { model, logitsModel };
  });
}
