/**
 * A modality's branch taken from a trained unimodal run: the run's hidden layer (its op, size
 * and trained weights) becomes the fusion's projection of that modality, frozen by default.
 * This is "train the unimodal parts first": the fusion then only learns how to combine
 * representations that already separate the genres, instead of learning them from 967 movies
 * with the fusion's noisier gradient.
 *
 * The weights are copied once, when the fusion is built for training; the saved fusion model
 * holds them, so the source run is not needed afterwards (prediction, serving).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { env } from '../../env.js';
import { tf, tfl } from '../../engine/index.js';
import { getOp, registerOp } from '../ops.js';
import { specFor } from '../registry.js';
import { loadConfig, type TrainConfig } from '../../train/config.js';
import type { InputSpec, LayerNode, ModelSpec } from '../spec.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;
type Layer = InstanceType<typeof tfl.layers.Layer>;

/** Ops a branch can be taken from (layers over one flat vector). */
const COPYABLE_OPS = new Set(['dense', 'maxout']);

/** A relative run path is taken under the runs folder (MMGENRE_RUNS_DIR, default ./runs). */
export function resolveSourceRun(run: string): string {
  return isAbsolute(run) ? run : resolve(env.runsDir, run);
}

export interface SourceLayer {
  /** Absolute run directory. */
  run: string;
  /** The layer's node in the run's spec. */
  node: LayerNode;
  /**
   * The run's layers from its input up to `node` (ends with `node`), dropouts left out: the
   * representation as the run computes it at prediction time. One layer for a one-layer MLP.
   */
  chain: LayerNode[];
  /** Output size of the layer. */
  units: number;
  /** The run's input (encoder, normalisation), which must match the fusion's. */
  input: InputSpec;
  /**
   * For a run over several inputs: this input's block of the layer's kernel rows, and whether
   * the bias goes with it (the first input's branch carries it, the others' bias is zero).
   */
  rows?: SourceRows;
}

/** The fusion input a branch is for, the fusion's labels and (for a multi-input source) all its inputs. */
export interface SourceContext {
  input: InputSpec;
  labels: string[];
  inputs?: InputSpec[];
}

export interface SourceRows {
  offset: number;
  count: number;
  bias: boolean;
}

/**
 * The layer `layer` (default: the last hidden dense/maxout layer, or the output's logits when
 * the run has none, as a logistic model) of the run at `run`. Throws with the path when the run
 * is absent or unfinished.
 *
 * A run over several inputs (poster-frozen: a logistic head on two poster layers) gives a branch
 * for each of them only through a linear layer reading their concatenation directly: W [x₁; x₂] + b
 * = W₁ x₁ + (W₂ x₂ + b), so the fusion's input `like.input` takes its own block of kernel rows
 * (`rows`) and the sum over the inputs' branches is the run's layer exactly. A nonlinear or deeper
 * layer does not split by input and is refused.
 */
export function sourceLayer(run: string, layer?: string, like?: SourceContext): SourceLayer {
  const dir = resolveSourceRun(run);
  const specPath = join(dir, 'spec.json');
  let spec: ModelSpec;
  if (existsSync(specPath) && existsSync(join(dir, 'model', 'model.json')))
    spec = JSON.parse(readFileSync(specPath, 'utf8')) as ModelSpec;
  else {
    // Not trained yet: a shipped config of that name still tells the layer (for diagrams);
    // training then stops in `prepare`, asking for the run.
    const planned = like && !isAbsolute(run) && !run.includes('/') ? plannedSpec(run, like) : null;
    if (!planned) throw new Error(`source run ${dir} is not a finished run (train its config first)`);
    spec = planned;
  }
  const candidates = spec.nodes.filter((n) => COPYABLE_OPS.has(n.op) && n.id !== spec.output);
  const wanted = layer ?? candidates[candidates.length - 1]?.id ?? spec.output;
  const found = spec.nodes.find((n) => n.id === wanted);
  if (!found)
    throw new Error(
      `source run ${dir}: no layer '${wanted}' (hidden layers: ${candidates.map((n) => n.id).join(', ') || 'none'}; or '${spec.output}')`,
    );
  // The output layer as a representation: its logits, a linear dense under the name its
  // weights carry ('<output>_logits/kernel'), so they copy like a hidden layer's.
  const node: LayerNode =
    found.id === spec.output && found.op === 'output'
      ? {
          ...found,
          id: `${found.id}_logits`,
          op: 'dense',
          params: { units: found.params.units, activation: 'linear' },
        }
      : found;
  if (!COPYABLE_OPS.has(node.op))
    throw new Error(
      `source run ${dir}: layer '${node.id}' is a '${node.op}', only dense, maxout or the output can be copied`,
    );
  const chain = chainTo(spec, found, dir).map((n) => (n === found ? node : n));
  const units = Number(node.params.units);
  if (spec.inputs.length === 1) return { run: dir, node, chain, units, input: spec.inputs[0] };
  const k = like ? spec.inputs.findIndex((i) => i.id === like.input.id) : -1;
  if (k < 0)
    throw new Error(
      `source run ${dir} reads ${spec.inputs.map((i) => i.id).join(', ')}: a branch from it must be one of those inputs`,
    );
  if (chain.length !== 1 || node.op !== 'dense' || (node.params.activation ?? 'linear') !== 'linear')
    throw new Error(
      `source run ${dir} reads ${spec.inputs.length} inputs: only a linear layer on their concatenation splits into one branch per input (layer '${node.id}' does not)`,
    );
  const offset = spec.inputs.slice(0, k).reduce((s, i) => s + i.shape[0], 0);
  return {
    run: dir,
    node,
    chain,
    units,
    input: spec.inputs[k],
    rows: { offset, count: spec.inputs[k].shape[0], bias: k === 0 },
  };
}

/**
 * The copyable layers on the path from the spec's input to `last`, input first. A layer two deep
 * (a two-layer MLP's last hidden layer) reads the layer below, not the input, so the whole path
 * is copied; dropouts are skipped, anything else on the path (a concat, a pooling) is refused.
 */
function chainTo(spec: ModelSpec, last: LayerNode, dir: string): LayerNode[] {
  const byId = new Map(spec.nodes.map((n) => [n.id, n]));
  const chain: LayerNode[] = [];
  const inputIds = spec.inputs.map((i) => i.id).join();
  for (let n: LayerNode | undefined = last; n; ) {
    // A run over several inputs starts with their concatenation (a logistic model's).
    if (n.op === 'concat' && n.inputs.join() === inputIds && spec.inputs.length > 1) break;
    if (n.inputs.length !== 1)
      throw new Error(
        `source run ${dir}: layer '${n.id}' reads ${n.inputs.length} inputs; only a chain can be copied`,
      );
    if (COPYABLE_OPS.has(n.op) || n === last) chain.unshift(n);
    else if (n.op !== 'dropout')
      throw new Error(
        `source run ${dir}: a '${n.op}' ('${n.id}') lies below '${last.id}'; only dense, maxout and dropout can be copied`,
      );
    const up = n.inputs[0];
    if (up === spec.inputs[0].id) break;
    n = byId.get(up);
    if (!n) throw new Error(`source run ${dir}: layer '${up}' is not in the spec`);
  }
  return chain;
}

/**
 * The spec shipped config `name` would train on inputs like the fusion's (no run needed): a
 * one-input config on the branch's input, a multi-input one on the fusion's inputs of its ids.
 */
function plannedSpec(name: string, like: SourceContext): ModelSpec | null {
  let config: TrainConfig;
  try {
    config = loadConfig(name);
  } catch {
    return null;
  }
  const { type, ...options } = config.model;
  if (config.inputs.length === 1) {
    const input: InputSpec = { ...like.input, id: config.inputs[0].id };
    return specFor(type, options, { labels: like.labels, inputs: [input] });
  }
  const inputs = config.inputs.map((c) => like.inputs?.find((i) => i.id === c.id));
  if (inputs.some((i) => !i)) return null;
  return specFor(type, options, { labels: like.labels, inputs: inputs as InputSpec[] });
}

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

async function loadSourceWeights(node: LayerNode): Promise<void> {
  const key = cacheKey(node);
  if (loaded.has(key)) return;
  if (!existsSync(join(String(node.params.run), 'model', 'model.json')))
    throw new Error(
      `node '${node.id}': source run ${String(node.params.run)} is not a finished run (train config '${String(node.params.runName)}' there first; run-all does)`,
    );
  // Imported here: train/run.ts imports the model registry, which imports this module.
  const { loadLayersModel } = await import('../../train/run.js');
  const model = await loadLayersModel(join(String(node.params.run), 'model'));
  const layer = String(node.params.layer);
  const weights = new Map<string, tf.Tensor>();
  for (const w of model.weights) {
    if (w.originalName.startsWith(`${layer}/`) || w.originalName.startsWith(`${layer}_`))
      weights.set(w.originalName.slice(layer.length), tf.keep(w.read().clone()));
  }
  model.dispose();
  if (weights.size === 0)
    throw new Error(`source run ${String(node.params.run)}: layer '${layer}' has no weights`);
  loaded.set(key, weights);
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
  prepare: (node) => loadSourceWeights(node),
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
  prepare: async (node, spec) => {
    await plainOutput.prepare?.(node, spec);
    const init = initOf(node);
    if (init) await loadSourceWeights(init);
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
