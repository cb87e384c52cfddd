/**
 * Layers of trained runs for the fusions that copy them (`branches.<input>.from`, `warmStart`):
 * the run's spec when the fusion's spec is built, its weights when the fusion's ops are prepared.
 * The model families receive both from here (`ModelBuildContext.sources`, `PrepareContext`) and
 * never open a run folder themselves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { env } from '../env.js';
import { tf } from '../engine/index.js';
import { prepareOps } from '../models/ops.js';
import { specFor, type ModelBuildContext } from '../models/registry.js';
import type { SourceContext, SourceLayer, SourceRuns } from '../models/source-runs.js';
import type { InputSpec, LayerNode, ModelSpec } from '../models/spec.js';
import { loadConfig, type TrainConfig } from './config.js';
import { loadLayersModel } from './run.js';

/** Ops a branch can be taken from (layers over one flat vector). */
const COPYABLE_OPS = new Set(['dense', 'maxout']);

/** A relative run path is taken under the runs folder (MMGENRE_RUNS_DIR, default ./runs). */
export function resolveSourceRun(run: string): string {
  return isAbsolute(run) ? run : resolve(env.runsDir, run);
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
    return specWithSources(type, options, { labels: like.labels, inputs: [input] });
  }
  const inputs = config.inputs.map((c) => like.inputs?.find((i) => i.id === c.id));
  if (inputs.some((i) => !i)) return null;
  return specWithSources(type, options, { labels: like.labels, inputs: inputs as InputSpec[] });
}

/**
 * The trained weights of the run layer a node copies (`params.run`, `params.layer`), by name after
 * the layer's ('/kernel', '_logits/bias'); what `prepareOps` hands the pretrained ops.
 */
export async function loadSourceWeights(node: LayerNode): Promise<Map<string, tf.Tensor>> {
  if (!existsSync(join(String(node.params.run), 'model', 'model.json')))
    throw new Error(
      `node '${node.id}': source run ${String(node.params.run)} is not a finished run (train config '${String(node.params.runName)}' there first; run-all does)`,
    );
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
  return weights;
}

/** Trained runs as the fusions read them. */
export const sourceRuns: SourceRuns = { layer: sourceLayer, dir: resolveSourceRun };

/** `specFor` with trained runs readable, for a spec whose branches are taken `from` runs. */
export function specWithSources(
  type: string,
  options: Record<string, unknown>,
  ctx: Omit<ModelBuildContext, 'sources'>,
): ModelSpec {
  return specFor(type, options, { ...ctx, sources: sourceRuns });
}

/** `prepareOps` with the source runs' weights readable (what training calls before building). */
export function prepareWithSources(spec: ModelSpec): Promise<void> {
  return prepareOps(spec, { sourceWeights: loadSourceWeights });
}
