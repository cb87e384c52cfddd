/**
 * Model families by name (MMF-style): a config says `model: {type: 'mlp', hidden: [512]}`,
 * the family validates its options and writes the spec. Families register themselves on
 * import (src/models/index.ts imports them all); fusions and sequence models add files.
 */
import { z } from 'zod';
import type { LayersModel } from './build.js';
import type { SourceRuns } from './source-runs.js';
import type { InputSpec, ModelSpec } from './spec.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

export interface ModelBuildContext {
  labels: string[];
  /** Inputs with their shapes resolved (from the features, or known encoder dims). */
  inputs: InputSpec[];
  /** Trained runs a fusion may take branches from (given by src/runs/source-layer.ts; absent: none). */
  sources?: SourceRuns;
}

export interface ModelFamily<O = unknown> {
  description: string;
  /** Options of the family (everything under `model:` except `type`). */
  options: z.ZodType<O>;
  build(options: O, ctx: ModelBuildContext): ModelSpec;
  /** Extra fields for each prediction row (e.g. a fusion's gate and the inputs it used); x normalised. */
  annotate?(
    model: LayersModel,
    spec: ModelSpec,
    x: Float32Array[],
    missing: Uint8Array[],
    n: number,
  ): Record<string, unknown>[];
}

const families = new Map<string, ModelFamily<unknown>>();

export function registerModel<O>(name: string, family: ModelFamily<O>): void {
  families.set(name, family as ModelFamily<unknown>);
}

export function getModelFamily(name: string): ModelFamily<unknown> {
  const f = families.get(name);
  if (!f) throw new Error(`unknown model type '${name}' (known: ${knownModels().join(', ')})`);
  return f;
}

export function knownModels(): string[] {
  return [...families.keys()].sort();
}

/** Error for bad model options, naming every bad key as `model.<key>`. */
export class ModelOptionsError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('config', message, options);
  }
}

/** Validate a family's options (throws ModelOptionsError naming the keys) and return them parsed. */
export function parseModelOptions(type: string, options: Record<string, unknown>): unknown {
  const family = getModelFamily(type);
  const r = family.options.safeParse(options);
  if (!r.success) {
    const why = r.error.issues
      .map((i) => `model.${i.path.join('.') || '(options)'}: ${i.message}`)
      .join('; ');
    throw new ModelOptionsError(`invalid options for model type '${type}': ${why}`);
  }
  return r.data;
}

/** The spec of model `type` with `options` over the given inputs and labels. */
export function specFor(type: string, options: Record<string, unknown>, ctx: ModelBuildContext): ModelSpec {
  return getModelFamily(type).build(parseModelOptions(type, options), ctx);
}
