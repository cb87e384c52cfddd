/**
 * Run directories: everything one training leaves behind, and `loadRun` to use it again
 * (predict, serve, report).
 *
 *   config.yaml          the effective config (overrides applied)
 *   spec.json            the model spec (diagram source)
 *   run.json             status, data + feature-cache identity, versions, timings, best epoch
 *   preprocess.json      per-input normalisation fitted on train
 *   metrics.jsonl        one line per epoch
 *   checkpoint.bin       last epoch's full training state (for --resume)
 *   model/model.json     best model, tfjs layers format (+ model/weights.bin): loadable in a browser
 *   thresholds.json      per-genre thresholds tuned on dev
 *   predictions-dev.jsonl, predictions-test.jsonl
 *   eval.json            dev and test metrics at 0.5 and with the tuned thresholds
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { tf, tfl } from '../engine/index.js';
import { readThresholds } from '../eval/thresholds.js';
import type { LayersModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { CorruptFileError, verifyChecksum, writeFileWithChecksum } from '../util/checksum.js';
import { parseConfig, type TrainConfig } from './config.js';
import { applyNormalizer, type Normalizer } from '../features/normalize.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

export const RUN_FILES = {
  config: 'config.yaml',
  spec: 'spec.json',
  run: 'run.json',
  preprocess: 'preprocess.json',
  metrics: 'metrics.jsonl',
  checkpoint: 'checkpoint.bin',
  modelDir: 'model',
  thresholds: 'thresholds.json',
  predictionsDev: 'predictions-dev.jsonl',
  predictionsTest: 'predictions-test.jsonl',
  eval: 'eval.json',
} as const;

export type RunStatus = 'running' | 'interrupted' | 'done' | 'failed';

export interface RunInfo {
  name: string;
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  data: { path: string; name: string; format: string; labels: string[]; sizes: Record<string, number> };
  /** Per input: which encoder, and the feature-cache entry its features were read from. */
  features: Array<{
    input: string;
    encoder: string;
    options?: Record<string, unknown>;
    cacheEntry?: string;
    dim: number;
    missing: Record<string, number>;
  }>;
  versions: Record<string, string>;
  seed: number;
  epochsRun?: number;
  bestEpoch?: number;
  bestDevMacroF1?: number;
  stopReason?: string;
  trainSeconds?: number;
  /** What computed the gradients: 'onnx' (onnxruntime) or 'tfjs'. */
  gradientEngine?: string;
  /** Training movies left out because every input was missing. */
  droppedTrain?: number;
  /** The runs this one read (a fusion's source runs, a late fusion's experts), as found or trained. */
  sources?: Array<{ role: string; ref: string; dir: string; seed?: number; trained: boolean }>;
}

export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const v = (name: string): string => {
    try {
      return (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    node: process.version,
    '@tensorflow/tfjs-core': v('@tensorflow/tfjs-core'),
    '@tensorflow/tfjs-layers': v('@tensorflow/tfjs-layers'),
    backend: tf.getBackend() ?? 'none',
  };
}

/**
 * Save a layers model as model.json + weights.bin with tfjs' own serialisation (the format
 * `tf.loadLayersModel` reads, in Node or a browser). A custom IOHandler because the file://
 * handler ships only with tfjs-node, which this project does not use; files are atomic.
 */
export async function saveLayersModel(model: LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData
        ? new Uint8Array(tf.io.concatenateArrayBuffers(([] as ArrayBuffer[]).concat(artifacts.weightData)))
        : new Uint8Array(0);
      writeFileWithChecksum(join(dir, 'weights.bin'), weightData);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `mmgenre (TensorFlow.js ${versions()['@tensorflow/tfjs-layers']})`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileWithChecksum(join(dir, 'model.json'), JSON.stringify(modelJson, null, 2) + '\n');
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

const MODEL_FIX = 'train the run again into a new --out, or restore its model/ folder from a backup';

export async function loadLayersModel(dir: string): Promise<LayersModel> {
  const jsonPath = join(dir, 'model.json');
  const jsonText = readFileSync(jsonPath, 'utf8');
  verifyChecksum(jsonPath, jsonText, MODEL_FIX);
  let json: {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  try {
    json = JSON.parse(jsonText) as typeof json;
  } catch (err) {
    throw new CorruptFileError(jsonPath, `not JSON (${(err as Error).message})`, MODEL_FIX);
  }
  const buffers = json.weightsManifest.flatMap((g) =>
    g.paths.map((p) => {
      const bytes = readFileSync(join(dir, p));
      verifyChecksum(join(dir, p), bytes, MODEL_FIX);
      return bytes;
    }),
  );
  const weightData = tf.io.concatenateArrayBuffers(
    buffers.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer),
  );
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  return tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }),
  );
}

export function writeRunInfo(dir: string, info: RunInfo): void {
  writeJsonAtomic(join(dir, RUN_FILES.run), { ...info, updatedAt: new Date().toISOString() });
}

export function readRunInfo(dir: string): RunInfo {
  return JSON.parse(readFileSync(join(dir, RUN_FILES.run), 'utf8')) as RunInfo;
}

export interface LoadedRun {
  dir: string;
  info: RunInfo;
  config: TrainConfig;
  spec: ModelSpec;
  model: LayersModel;
  labels: string[];
  /** Tuned per-genre thresholds (0.5 each when the run has none). */
  thresholds: number[];
  normalizers: Normalizer[];
  /**
   * Probabilities for raw (un-normalised) feature rows, one row-major matrix per input in spec
   * order; `missing[k][i] = 1` marks input k absent for row i.
   */
  predict(x: Float32Array[], missing?: Uint8Array[]): Float32Array;
}

export class RunNotFoundError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('not-found', message, options);
  }
}

/** Open a finished run directory. */
export async function loadRun(dir: string): Promise<LoadedRun> {
  const root = resolve(dir);
  const modelDir = join(root, RUN_FILES.modelDir);
  if (!existsSync(join(root, RUN_FILES.run)) || !existsSync(join(modelDir, 'model.json'))) {
    throw new RunNotFoundError(`${root} is not a finished mmgenre run (no run.json or model/model.json)`);
  }
  const info = readRunInfo(root);
  const config = parseConfig(
    parseYaml(readFileSync(join(root, RUN_FILES.config), 'utf8')),
    join(root, RUN_FILES.config),
  );
  const spec = JSON.parse(readFileSync(join(root, RUN_FILES.spec), 'utf8')) as ModelSpec;
  const normalizers = JSON.parse(readFileSync(join(root, RUN_FILES.preprocess), 'utf8')) as Normalizer[];
  const model = await loadLayersModel(modelDir);
  const labels = spec.labels;
  const thresholdsPath = join(root, RUN_FILES.thresholds);
  const thresholds = existsSync(thresholdsPath)
    ? readThresholds(thresholdsPath, labels).thresholds
    : labels.map(() => 0.5);
  const dims = spec.inputs.map((i) => i.shape.reduce((a, b) => a * b, 1));
  return {
    dir: root,
    info,
    config,
    spec,
    model,
    labels,
    thresholds,
    normalizers,
    predict(x, missing) {
      if (x.length !== dims.length) throw new Error(`the model takes ${dims.length} inputs, got ${x.length}`);
      const n = x[0].length / dims[0];
      const xs = x.map((m, k) => {
        if (m.length !== n * dims[k])
          throw new Error(`input '${spec.inputs[k].id}' must have ${dims[k]} values per row`);
        return applyNormalizer(normalizers[k], Float32Array.from(m), dims[k], missing?.[k]);
      });
      const probs = tf.tidy(() => {
        const ts = xs.map((m, k) => tf.tensor2d(m, [n, dims[k]]));
        return model.predict(ts.length === 1 ? ts[0] : ts) as tf.Tensor;
      });
      const out = probs.dataSync() as Float32Array;
      probs.dispose();
      return Float32Array.from(out);
    },
  };
}
