/**
 * Where a diagram's spec comes from: a config (built the way the trainer builds it, with the
 * encoders' known feature sizes instead of extracted features) or a run's spec.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MMIMDB_GENRES } from '../data/genres.js';
import { createEncoder, loadBuiltinEncoders } from '../features/registry.js';
import { specFor } from '../models/registry.js';
import { validateSpec, type InputSpec, type ModelSpec } from '../models/spec.js';
import { inputModality, type InputConfig, type TrainConfig } from '../train/config.js';
import { RUN_FILES } from '../train/run.js';

export class SpecSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecSourceError';
  }
}

/** The feature size of a config input: its `dim`, or the size its encoder declares. */
export async function inputDim(input: InputConfig): Promise<number> {
  if (input.dim) return input.dim;
  await loadBuiltinEncoders();
  let dim = 0;
  try {
    dim = createEncoder(input.encoder, input.options).dim;
  } catch (err) {
    throw new SpecSourceError(
      `input '${input.id}': cannot tell the size of encoder '${input.encoder}' without its features ` +
        `(${(err as Error).message}); add 'dim: N' to the input in the config`,
    );
  }
  if (!(dim > 0)) {
    throw new SpecSourceError(
      `input '${input.id}': encoder '${input.encoder}' only knows its size after loading its model; add 'dim: N' to the input in the config`,
    );
  }
  return dim;
}

/** The model spec a config trains, as `trainFromConfig` builds it (labels default to MM-IMDB's 23). */
export async function specFromConfig(
  config: TrainConfig,
  labels: readonly string[] = MMIMDB_GENRES,
): Promise<ModelSpec> {
  const inputs: InputSpec[] = [];
  for (const input of config.inputs) {
    const dim = await inputDim(input);
    inputs.push({
      id: input.id,
      modality: inputModality(input),
      source: {
        kind: input.kind,
        encoder: input.encoder,
        options: input.options,
        normalize: input.normalize,
      },
      shape: [dim],
      dtype: input.kind === 'sequence' ? 'int32' : 'float32',
    });
  }
  const { type, ...options } = config.model;
  const spec = specFor(type, options, { labels: [...labels], inputs });
  validateSpec(spec);
  return spec;
}

/** A run directory's spec.json. */
export function specFromRun(runDir: string): ModelSpec {
  const path = join(runDir, RUN_FILES.spec);
  if (!existsSync(path))
    throw new SpecSourceError(`${runDir} has no ${RUN_FILES.spec}: is it an mmgenre run directory?`);
  let spec: ModelSpec;
  try {
    spec = JSON.parse(readFileSync(path, 'utf8')) as ModelSpec;
  } catch (err) {
    throw new SpecSourceError(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  try {
    validateSpec(spec);
  } catch (err) {
    throw new SpecSourceError(`${path}: ${(err as Error).message}`);
  }
  return spec;
}
