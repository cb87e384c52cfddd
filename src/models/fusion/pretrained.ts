/**
 * A modality's branch taken from a trained unimodal run: the run's hidden layer (its op, size
 * and trained weights) becomes the fusion's projection of that modality, frozen by default.
 * This is "train the unimodal parts first": the fusion then only learns how to combine
 * representations that already separate the genres, instead of learning them from 967 movies
 * with the fusion's noisier gradient.
 *
 * The weights are copied once, when the fusion is built for training; the saved fusion model
 * holds them, so the source run is not needed afterwards (prediction, serving). The family never
 * opens the run itself: the runs layer reads its spec (`ctx.sources`, when the spec is built) and
 * its weights (`sourceWeights`, when the ops are prepared); src/runs/source-layer.ts.
 */
import { tf, tfl } from '../../engine/index.js';
import { getOp, registerOp, type PrepareContext } from '../ops.js';
import type { InputSpec, LayerNode } from '../spec.js';
import type { SourceLayer, SourceRows } from '../source-runs.js';

export type { SourceContext, SourceLayer, SourceRows, SourceRuns } from '../source-runs.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;
type Layer = InstanceType<typeof tfl.layers.Layer>;

/** Fail when the fusion's input is not encoded and normalised as the source run's was. */
export function checkSourceMatches(input: InputSpec, src: SourceLayer): void {
  const a = input.source;
  const b = src.input.source;
  const same =
    a.encoder === b.encoder &&
    a.normalize === b.normalize &&
    JSON.stringify(a.options ?? {}) === JSON.stringify(b.options ?? {}) &&
    input.shape[0] === src.input.shape[0];
  if (!same)
    throw new Error(
      `input '${input.id}' (${a.encoder}, ${a.normalize}, ${input.shape[0]}-d) does not match the source run ${src.run} (${b.encoder}, ${b.normalize}, ${src.input.shape[0]}-d)`,
    );
}

/** Trained weights by name ('hidden_1/kernel'), loaded in `prepare` (build is synchronous). */
const loaded = new Map<string, Map<string, tf.Tensor>>();
const cacheKey = (n: LayerNode): string => `${String(n.params.run)}#${String(n.params.layer)}`;

async function loadSourceWeights(node: LayerNode, ctx: PrepareContext): Promise<void> {
  const key = cacheKey(node);
  if (loaded.has(key)) return;
  if (!ctx.sourceWeights)
    throw new Error(
      `node '${node.id}' copies a layer of run ${String(node.params.run)}: prepare the spec with that run's weights (prepareWithSources, src/runs/source-layer.ts)`,
    );
  loaded.set(key, await ctx.sourceWeights(node));
}

/** Layers whose names start with `prefix`, walking back from `t` (an op's layers all carry its id). */
function layersOf(t: SymbolicTensor, prefix: string): Layer[] {
  const out: Layer[] = [];
  const stack: Layer[] = [t.sourceLayer as Layer];
  while (stack.length > 0) {
    const l = stack.pop()!;
    if (!l.name.startsWith(prefix) || out.includes(l)) continue;
    out.push(l);
    for (const n of l.inboundNodes) stack.push(...(n.inboundLayers as Layer[]));
  }
  return out;
}

registerOp('pretrained_layer', {
  prepare: (node, _spec, ctx) => loadSourceWeights(node, ctx),
  build: (ctx) => {
    const { node } = ctx;
    const source = node.params.source as unknown as LayerNode;
    const out = getOp(source.op).build({
      ...ctx,
      node: { ...source, id: node.id, inputs: node.inputs, frozen: node.frozen },
    });
    const weights = loaded.get(cacheKey(node));
    if (!weights) throw new Error(`node '${node.id}': source weights not loaded (prepareOps first)`);
    const rows = node.params.rows as unknown as SourceRows | undefined;
    let copied = 0;
    for (const layer of layersOf(out, node.id)) {
      for (const w of layer.weights) {
        const name = w.originalName.slice(node.id.length);
        const stored = weights.get(name);
        if (!stored) continue;
        // One input's block of a multi-input layer (sourceLayer): its kernel rows, the bias or zero.
        const src =
          rows && name.endsWith('/kernel')
            ? tf.slice(stored, [rows.offset, 0], [rows.count, -1])
            : rows && name.endsWith('/bias') && !rows.bias
              ? tf.zerosLike(stored)
              : stored.clone();
        if (src.shape.join() !== w.shape.join())
          throw new Error(
            `node '${node.id}': weight ${w.originalName} is [${w.shape}], the source's is [${src.shape}]`,
          );
        w.write(src);
        copied++;
      }
    }
    if (copied !== weights.size)
      throw new Error(`node '${node.id}': copied ${copied} of the source layer's ${weights.size} weights`);
    return out;
  },
  describe: (n) =>
    `${getOp((n.params.source as unknown as LayerNode).op).describe(n.params.source as unknown as LayerNode)} from run ${String(n.params.runName ?? n.params.run)}${n.frozen ? ' (frozen)' : ''}`,
});

/**
 * Warm start of a fusion's classifier (HeadOptions.warmStart): the output op, extended so that a
 * node with `params.init = { run, layer, offset, rows }` starts as that run's output layer —
 * its kernel rows placed at `offset` of the fused vector, every other row zero, its bias copied.
 * The fusion then computes exactly the unimodal model's logits until the other modality's rows
 * (and the gate) learn something. Nodes without `init` build as before.
 */
const plainOutput = getOp('output');
const initOf = (node: LayerNode): LayerNode | null => {
  const init = node.params.init;
  return init && typeof init === 'object' && !Array.isArray(init)
    ? { ...node, params: init as LayerNode['params'] }
    : null;
};

registerOp('output', {
  ...plainOutput,
  prepare: async (node, spec, ctx) => {
    await plainOutput.prepare?.(node, spec, ctx);
    const init = initOf(node);
    if (init) await loadSourceWeights(init, ctx);
  },
  build: (ctx) => {
    const out = plainOutput.build(ctx);
    const init = initOf(ctx.node);
    if (!init) return out;
    const weights = loaded.get(cacheKey(init));
    if (!weights) throw new Error(`node '${ctx.node.id}': warm-start weights not loaded (prepareOps first)`);
    const kernel = weights.get('_logits/kernel');
    const bias = weights.get('_logits/bias');
    const offset = Number(init.params.offset);
    const rows = Number(init.params.rows);
    const [logits] = layersOf(out, ctx.node.id).filter((l) => l.name === `${ctx.node.id}_logits`);
    if (!kernel || !bias || !logits)
      throw new Error(`node '${ctx.node.id}': the source run ${String(init.params.run)} has no output layer`);
    const [fused, labels] = logits.getWeights()[0].shape;
    if (kernel.shape[0] !== rows || kernel.shape[1] !== labels || offset + rows > fused)
      throw new Error(
        `node '${ctx.node.id}': the source's output kernel [${kernel.shape}] does not fit rows ${offset}…${offset + rows} of [${fused}, ${labels}]`,
      );
    tf.tidy(() =>
      logits.setWeights([
        tf.concat([tf.zeros([offset, labels]), kernel, tf.zeros([fused - offset - rows, labels])], 0),
        bias,
      ]),
    );
    return out;
  },
  describe: (n) =>
    plainOutput.describe(n) +
    (initOf(n) ? `, starts as run ${String((n.params.init as Record<string, unknown>).runName)}` : ''),
});
