/**
 * Ops: what each kind of spec node becomes in tfjs-layers. One table so that new model
 * families (fusions, recurrent encoders) add an op with `registerOp` and nothing else changes.
 * Only stock tfjs-layers classes are used by the built-in ops, so a saved model.json loads in
 * a browser with plain `tf.loadLayersModel`.
 */
import { tfl, type tf } from '../engine/index.js';
import type { JsonValue, LayerNode, ModelSpec } from './spec.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;
export type ActivationName = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'selu' | 'softplus';

export interface OpContext {
  node: LayerNode;
  inputs: SymbolicTensor[];
  spec: ModelSpec;
}

export interface OpDefinition {
  /** Make the layer(s) for a node; every layer name must start with the node id. */
  build(ctx: OpContext): SymbolicTensor;
  /** One line for diagrams and summaries, e.g. 'Dense 512 · relu'. */
  describe(node: LayerNode): string;
  /**
   * Load what `build` needs and cannot load synchronously (pretrained weights, word vectors);
   * awaited by `prepareOps` before `buildModel`.
   */
  prepare?(node: LayerNode, spec: ModelSpec, ctx: PrepareContext): Promise<void>;
}

/**
 * What preparing may read beyond the spec, given by the layer that owns it: model families never
 * open run folders themselves (src/runs/source-layer.ts gives a source run's weights).
 */
export interface PrepareContext {
  /** The trained weights of the run layer a node copies (`params.run`, `params.layer`), by name after the layer's ('/kernel'). */
  sourceWeights?(node: LayerNode): Promise<Map<string, tf.Tensor>>;
}

const ops = new Map<string, OpDefinition>();

export function registerOp(name: string, def: OpDefinition): void {
  ops.set(name, def);
}

export function getOp(name: string): OpDefinition {
  const def = ops.get(name);
  if (!def) throw new Error(`unknown op '${name}' (known: ${[...ops.keys()].sort().join(', ')})`);
  return def;
}

/** Run every op's `prepare` (pretrained weights, word vectors) so that `buildModel` can run. */
export async function prepareOps(spec: ModelSpec, ctx: PrepareContext = {}): Promise<void> {
  for (const node of spec.nodes) await getOp(node.op).prepare?.(node, spec, ctx);
}

/** A node's one-line description (for the diagram). */
export function describeNode(node: LayerNode): string {
  return getOp(node.op).describe(node);
}

function num(node: LayerNode, key: string, fallback?: number): number {
  const v: JsonValue | undefined = node.params[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new Error(
      `node '${node.id}' (${node.op}): param '${key}' must be a number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function activationOf(node: LayerNode): ActivationName {
  return ((node.params.activation as string | undefined) ?? 'linear') as ActivationName;
}

const one = (x: SymbolicTensor | SymbolicTensor[]): SymbolicTensor => (Array.isArray(x) ? x[0] : x);

registerOp('dense', {
  build: ({ node, inputs }) =>
    one(
      tfl.layers
        .dense({
          name: node.id,
          units: num(node, 'units'),
          activation: activationOf(node),
          trainable: !node.frozen,
        })
        .apply(inputs[0]) as SymbolicTensor,
    ),
  describe: (n) => `Dense ${num(n, 'units')} · ${activationOf(n)}`,
});

registerOp('dropout', {
  build: ({ node, inputs }) =>
    one(tfl.layers.dropout({ name: node.id, rate: num(node, 'rate') }).apply(inputs[0]) as SymbolicTensor),
  describe: (n) => `Dropout ${num(n, 'rate')}`,
});

registerOp('activation', {
  build: ({ node, inputs }) =>
    one(
      tfl.layers
        .activation({ name: node.id, activation: activationOf(node) })
        .apply(inputs[0]) as SymbolicTensor,
    ),
  describe: (n) => `Activation ${activationOf(n)}`,
});

/**
 * Maxout (Goodfellow et al. 2013; the paper's MaxoutMLP): the max over `pieces` linear
 * projections. Made from stock layers (Dense → Reshape → GlobalMaxPooling1D) so that the
 * saved model needs no custom class: Dense unit p·units+u becomes piece p of output u.
 */
registerOp('maxout', {
  build: ({ node, inputs }) => {
    const units = num(node, 'units');
    const pieces = num(node, 'pieces', 2);
    const linear = tfl.layers
      .dense({ name: `${node.id}_linear`, units: units * pieces, trainable: !node.frozen })
      .apply(inputs[0]) as SymbolicTensor;
    const grouped = tfl.layers
      .reshape({ name: `${node.id}_pieces`, targetShape: [pieces, units] })
      .apply(linear);
    return one(tfl.layers.globalMaxPooling1d({ name: node.id }).apply(grouped) as SymbolicTensor);
  },
  describe: (n) => `Maxout ${num(n, 'units')} × ${num(n, 'pieces', 2)} pieces`,
});

registerOp('concat', {
  build: ({ node, inputs }) =>
    inputs.length === 1
      ? inputs[0]
      : one(tfl.layers.concatenate({ name: node.id }).apply(inputs) as SymbolicTensor),
  describe: () => 'Concatenate',
});

registerOp('add', {
  build: ({ node, inputs }) =>
    inputs.length === 1 ? inputs[0] : one(tfl.layers.add({ name: node.id }).apply(inputs) as SymbolicTensor),
  describe: () => 'Add',
});

registerOp('multiply', {
  build: ({ node, inputs }) =>
    inputs.length === 1
      ? inputs[0]
      : one(tfl.layers.multiply({ name: node.id }).apply(inputs) as SymbolicTensor),
  describe: () => 'Multiply (element-wise)',
});

/**
 * The classifier output: Dense over the labels, then a sigmoid. Two layers so that training
 * can read the logits (`${id}_logits`) for a numerically stable cross-entropy while the saved
 * model outputs probabilities.
 */
registerOp('output', {
  build: ({ node, inputs }) => {
    const logits = tfl.layers
      .dense({ name: `${node.id}_logits`, units: num(node, 'units'), trainable: !node.frozen })
      .apply(inputs[0]) as SymbolicTensor;
    return one(
      tfl.layers.activation({ name: node.id, activation: 'sigmoid' }).apply(logits) as SymbolicTensor,
    );
  },
  describe: (n) => `Dense ${num(n, 'units')} · sigmoid (one per genre)`,
});
