import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Process-wide settings in one place (as transformers.js does with its `env`): read from
 * environment variables once, here and nowhere else (a lint rule enforces it), and overridable
 * from code. Worker threads start with `workerEnvironment()`, so a value set from code reaches them too.
 */

/** An optional number from the environment: undefined when unset or empty; NaN when not a number
 * (the setting's user validates it and names the variable in its error). */
function optionalNumber(raw: string | undefined): number | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : Number(raw);
}

export const env = {
  /** Where computed features, the GloVe binary cache and downloads are kept. */
  cacheDir: resolve(process.env.MMGENRE_CACHE_DIR ?? join(homedir(), '.cache', 'mmgenre')),
  /** Where `train`, `run-all` and `serve` look for runs by default. */
  runsDir: resolve(process.env.MMGENRE_RUNS_DIR ?? 'runs'),
  /**
   * How cached features are judged current (MMGENRE_FEATURE_FRESHNESS): 'stat' (default: each
   * poster's size and mtime) or 'content' (also the sha256 of its bytes). Checked where it is used.
   */
  featureFreshness: process.env.MMGENRE_FEATURE_FRESHNESS?.trim() || 'stat',
  /** Suppress progress output (MMGENRE_QUIET=1). */
  quiet: process.env.MMGENRE_QUIET === '1',
  /** Local folder for transformers.js / ONNX models (CLIP etc.), for users with models on disk. */
  localModelPath: process.env.MMGENRE_MODELS_DIR ?? join(homedir(), '.cache', 'mmgenre', 'models'),
  /** Whether transformers.js may download models from the hub (off by default: offline first). */
  allowRemoteModels: process.env.MMGENRE_ALLOW_REMOTE_MODELS === '1',
  /** Where `mmgenre data fetch mmimdb` downloads from (a mirror can be set). */
  mmimdbUrl: process.env.MMGENRE_MMIMDB_URL ?? 'https://archive.org/download/mmimdb/mmimdb.tar.gz',
  mmimdbHdf5Url:
    process.env.MMGENRE_MMIMDB_HDF5_URL ?? 'https://archive.org/download/mmimdb/multimodal_imdb.hdf5',
  /** How the engines run. */
  engines: {
    /** Threads of tfjs' WebAssembly backend (MMGENRE_WASM_THREADS; undefined: the single-threaded build). */
    wasmThreads: optionalNumber(process.env.MMGENRE_WASM_THREADS),
    /** Intra-op threads of onnxruntime training sessions (MMGENRE_ORT_THREADS; undefined: by thread kind). */
    ortThreads: optionalNumber(process.env.MMGENRE_ORT_THREADS),
  },
};

export type Env = typeof env;

/**
 * The environment a worker thread starts with: this process's, with the settings as they are
 * now (a folder set from code, e.g. a demo's runs folder, reaches the workers).
 */
export function workerEnvironment(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {
    ...process.env,
    MMGENRE_CACHE_DIR: env.cacheDir,
    MMGENRE_RUNS_DIR: env.runsDir,
    MMGENRE_FEATURE_FRESHNESS: env.featureFreshness,
    MMGENRE_QUIET: env.quiet ? '1' : undefined,
    MMGENRE_MODELS_DIR: env.localModelPath,
    MMGENRE_ALLOW_REMOTE_MODELS: env.allowRemoteModels ? '1' : undefined,
    MMGENRE_MMIMDB_URL: env.mmimdbUrl,
    MMGENRE_MMIMDB_HDF5_URL: env.mmimdbHdf5Url,
    MMGENRE_WASM_THREADS: env.engines.wasmThreads === undefined ? undefined : String(env.engines.wasmThreads),
    MMGENRE_ORT_THREADS: env.engines.ortThreads === undefined ? undefined : String(env.engines.ortThreads),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
