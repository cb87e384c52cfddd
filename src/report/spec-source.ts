/**
 * Where a diagram's spec comes from: a config (built the way the trainer builds it, with the
 * encoders' known feature sizes instead of extracted features) or a run's spec.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MMIMDB_GENRES } from '../data/genres.js';
import { createEncoder, loadBuiltinEncoders } from '../features/registry.js';
import type { Encoder } from '../features/types.js';
import { validateSpec, type InputSpec, type ModelSpec } from '../models/spec.js';
import { inputModality, type InputConfig, type TrainConfig } from '../runs/config.js';
import { RUN_FILES } from '../runs/run.js';
import { specWithSources } from '../runs/source-layer.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

const DEFAULT_MAX_LEN = 200;

export class SpecSourceError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}

/**
 * The feature size of a config input: its `dim`, the size its encoder declares, or, for an
 * encoder that only knows it after loading its model (an intermediate layer, an ONNX file),
 * the size after loading it (seconds, once; no features are extracted).
 */
export async function inputDim(input: InputConfig): Promise<number> {
  if (input.dim) return input.dim;
  // An encoder fitted on the training split (TF-IDF) has the size of its fitted vocabulary, which
  // only training knows; its `maxFeatures` bound is the size the diagram shows.
  const maxFeatures = Number(input.options?.maxFeatures);
  if (input.encoder === 'tfidf' && maxFeatures > 0) return maxFeatures;
  await loadBuiltinEncoders();
  let encoder: Encoder;
  try {
    encoder = createEncoder(input.encoder, input.options);
    if (!(encoder.dim > 0)) await encoder.init();
  } catch (err) {
    throw new SpecSourceError(
      `input '${input.id}': cannot tell the size of encoder '${input.encoder}' without its features ` +
        `(${(err as Error).message}); add 'dim: N' to the input in the config`,
    );
  }
  const dim = encoder.dim;
  encoder.dispose();
  if (!(dim > 0)) {
    throw new SpecSourceError(
      `input '${input.id}': encoder '${input.encoder}' did not report its size; add 'dim: N' to the input in the config`,
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
    // A token sequence's size is its length (the trainer's default 200), not an encoder output.
    const dim =
      input.kind === 'sequence' ? Number(input.options?.maxLen ?? DEFAULT_MAX_LEN) : await inputDim(input);
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
  const spec = specWithSources(type, options, { labels: [...labels], inputs });
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
