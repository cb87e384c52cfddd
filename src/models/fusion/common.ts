/**
 * What every fusion shares: per-modality branches (input dropout, a projection to a small
 * common size so a 1,280-d poster vector cannot swamp a 100-d plot vector), the classifier
 * head after the fusion, and the spec's frame.
 */
import { z } from 'zod';
import type { ModelBuildContext } from '../registry.js';
import type { SourceRuns } from '../source-runs.js';
import { SpecBuilder, type InputSpec, type JsonValue, type ModelSpec } from '../spec.js';
import { checkSourceMatches } from './pretrained.js';

export const activation = z.enum(['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'softplus', 'linear']);
export const rate = z.number().min(0).max(0.95);

/** Settings one input may override (keyed by input id under `branches:`). */
const branchOverride = z.strictObject({
  project: z.number().int().min(0).optional(),
  inputDropout: rate.optional(),
  /**
   * Take the branch from a trained unimodal run: its hidden layer (`layer`, default the last
   * hidden one) with its trained weights replaces the projection. `run` is a run directory; a
   * relative one lies under the runs folder, and run-all points it at the run of that name
   * beside the fusion's own run (same seed).
   */
  from: z.strictObject({ run: z.string().min(1), layer: z.string().min(1).optional() }).optional(),
  /** Keep the copied layer's weights fixed (default) or fine-tune them (with `lrScale`). */
  freeze: z.boolean().default(true),
  /** Learning-rate multiplier of the copied layer when not frozen. */
  lrScale: z.number().positive().optional(),
});

/** Options of the per-modality branches, shared by every fusion family. */
export const branchOptions = {
  /** Project each input to this size before fusing (0: fuse the raw inputs, the naive baseline). */
  project: z.number().int().min(0).default(64),
  projectActivation: activation.default('relu'),
  /** Dropout on each input vector (before the projection). */
  inputDropout: rate.default(0),
  /** Dropout on each projection. */
  projectDropout: rate.default(0),
  /** Per-input overrides, e.g. `{ poster: { inputDropout: 0.5 } }`. */
  branches: z.record(z.string(), branchOverride).default({}),
};

/** Options of the classifier after the fusion. */
export const headOptions = {
  head: z.enum(['maxout', 'mlp']).default('maxout'),
  /** Hidden layers of the classifier ([] : the output layer directly on the fused vector). */
  hidden: z.array(z.number().int().positive()).default([]),
  pieces: z.number().int().min(2).max(16).default(2),
  headActivation: activation.default('relu'),
  /** Dropout on the fused vector and after each hidden layer. */
  dropout: rate.default(0.5),
  /**
   * Warm start: the id of an input whose branch comes `from` a trained run; the output layer
   * starts as that run's output layer (its rows at that branch's place in the fused vector, the
   * other modalities' rows at zero), so the fusion starts as the unimodal model and learns
   * what the other modality adds. Needs `hidden: []`.
   */
  warmStart: z.string().min(1).optional(),
};

export const branchSchema = z.object(branchOptions);
export const headSchema = z.object(headOptions);
export type BranchOptions = z.infer<typeof branchSchema>;
export type HeadOptions = z.infer<typeof headSchema>;

export function requireFlatInputs(ctx: ModelBuildContext, family: string, min: number): void {
  if (ctx.inputs.length < min) {
    throw new Error(`a '${family}' fusion needs at least ${min} inputs, got ${ctx.inputs.length}`);
  }
  for (const i of ctx.inputs) {
    if (i.shape.length !== 1) {
      throw new Error(`input '${i.id}' has shape [${i.shape}]: fusions take flat feature vectors`);
    }
  }
}

export const branchGroup = (input: InputSpec): string => `${input.id} branch`;

/** The trained runs of the build context; a branch or warm start `from` a run cannot be built without them. */
function sourcesOf(ctx: ModelBuildContext, role: string): SourceRuns {
  if (!ctx.sources)
    throw new Error(
      `${role}: a layer taken from a trained run needs the runs; build the spec with specWithSources (src/runs/source-layer.ts)`,
    );
  return ctx.sources;
}

/**
 * One modality's branch: input dropout, then a projection to `project` units (none when 0).
 * Returns the node id of the branch's output and its size.
 */
export function branch(
  b: SpecBuilder,
  input: InputSpec,
  o: BranchOptions,
  ctx: ModelBuildContext,
): { id: string; units: number } {
  const { labels, inputs } = ctx;
  const over = o.branches[input.id] ?? {};
  const inputDropout = over.inputDropout ?? o.inputDropout;
  const project = over.project ?? o.project;
  const group = branchGroup(input);
  let x = input.id;
  if (inputDropout > 0)
    x = b.add('dropout', [x], { rate: inputDropout }, { id: `${input.id}_input_dropout`, group });
  if (over.from) {
    const src = sourcesOf(ctx, `model.branches.${input.id}.from`).layer(over.from.run, over.from.layer, {
      input,
      labels,
      inputs,
    });
    checkSourceMatches(input, src);
    // Layers below the chosen one (a deeper MLP's) come first, each under its own id; the
    // chosen layer keeps the id `<input>_project`, as a one-layer source's does.
    src.chain.forEach((layer, k) => {
      const { id: _id, inputs: _inputs, group: _group, frozen: _frozen, ...source } = layer;
      const last = k === src.chain.length - 1;
      x = b.add(
        'pretrained_layer',
        [x],
        {
          run: src.run,
          runName: over.from!.run,
          layer: layer.id,
          source: source as unknown as JsonValue,
          ...(src.rows ? { rows: { ...src.rows } } : {}),
        },
        {
          id: last ? `${input.id}_project` : `${input.id}_from_${layer.id}`,
          group,
          frozen: over.freeze,
          ...(!over.freeze && over.lrScale ? { lrScale: over.lrScale } : {}),
        },
      );
    });
    if (o.projectDropout > 0)
      x = b.add('dropout', [x], { rate: o.projectDropout }, { id: `${input.id}_project_dropout`, group });
    return { id: x, units: src.units };
  }
  if (project === 0) return { id: x, units: input.shape[0] };
  x = b.add(
    'dense',
    [x],
    { units: project, activation: o.projectActivation },
    { id: `${input.id}_project`, group },
  );
  if (o.projectDropout > 0)
    x = b.add('dropout', [x], { rate: o.projectDropout }, { id: `${input.id}_project_dropout`, group });
  return { id: x, units: project };
}

/** Fail on `branches:` keys that name no input (a typo would silently do nothing). */
export function checkBranchKeys(ctx: ModelBuildContext, o: BranchOptions): void {
  const ids = new Set(ctx.inputs.map((i) => i.id));
  for (const k of Object.keys(o.branches)) {
    if (!ids.has(k)) throw new Error(`model.branches.${k}: no input '${k}' (inputs: ${[...ids].join(', ')})`);
  }
}

/**
 * Fusions that combine projections element by element (sum, product) need one common size:
 * no branch may override `project`, and there is no unimodal layer to warm-start from.
 */
export function checkCommonProjection(
  o: BranchOptions & HeadOptions & { project: number },
  fusion: string,
): void {
  for (const [id, over] of Object.entries(o.branches)) {
    if (over.project !== undefined && over.project !== o.project)
      throw new Error(`model.branches.${id}.project: ${fusion} needs one common size (${o.project})`);
  }
  if (o.warmStart)
    throw new Error(`model.warmStart: ${fusion} has no warm start (its result is not any unimodal layer)`);
}

/** The source run of `warmStart`'s branch (the `from.run` of that input, and its directory), or an error. */
export function warmStartSource(
  o: BranchOptions & HeadOptions,
  id: string,
  ctx: ModelBuildContext,
): { run: string; runName: string } {
  const from = o.branches[id]?.from;
  if (!from)
    throw new Error(`model.warmStart: input '${id}' has no branch taken from a run (branches.${id}.from)`);
  if (o.hidden.length > 0) throw new Error('model.warmStart needs a linear classifier (hidden: [])');
  return { run: sourcesOf(ctx, 'model.warmStart').dir(from.run), runName: from.run };
}

/**
 * Where a warm-started output layer's source rows go: `width` rows from `offset` of the fused
 * vector, copied from the output layer of run `run` (absolute; `runName` as the options name it).
 */
export interface WarmStart {
  run: string;
  runName: string;
  offset: number;
  width: number;
}

/**
 * Dropout, hidden layers and the output layer over the fused vector; returns the output id.
 * With `warm`, the output node carries `init` (read by the output op's warm-start hook in
 * pretrained.ts): the source run's output layer, placed at `offset`.
 */
export function classifier(
  b: SpecBuilder,
  x: string,
  o: HeadOptions,
  labels: number,
  warm?: WarmStart,
): string {
  const group = 'classifier';
  if (o.dropout > 0) x = b.add('dropout', [x], { rate: o.dropout }, { id: 'fused_dropout', group });
  o.hidden.forEach((units, k) => {
    x =
      o.head === 'maxout'
        ? b.add('maxout', [x], { units, pieces: o.pieces }, { id: `maxout_${k + 1}`, group })
        : b.add('dense', [x], { units, activation: o.headActivation }, { id: `hidden_${k + 1}`, group });
    if (o.dropout > 0) x = b.add('dropout', [x], { rate: o.dropout }, { id: `dropout_${k + 1}`, group });
  });
  const params: Record<string, JsonValue> = { units: labels };
  if (warm)
    params.init = {
      run: warm.run,
      runName: warm.runName,
      layer: 'output',
      offset: warm.offset,
      rows: warm.width,
    };
  return b.add('output', [x], params, { id: 'output', group });
}

export function fusionSpec(
  b: SpecBuilder,
  ctx: ModelBuildContext,
  family: string,
  what: string,
  output: string,
): ModelSpec {
  return {
    specVersion: 1,
    family,
    title: `${what} of ${ctx.inputs.map((i) => `${i.id} (${i.source.encoder})`).join(' + ')}`,
    labels: [...ctx.labels],
    inputs: ctx.inputs,
    nodes: b.nodes,
    output,
  };
}
