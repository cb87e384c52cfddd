import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Process-wide settings in one place (as transformers.js does with its `env`):
 * read from environment variables once, overridable from code.
 */
export const env = {
  /** Where computed features, the GloVe binary cache and downloads are kept. */
  cacheDir: resolve(process.env.MMGENRE_CACHE_DIR ?? join(homedir(), '.cache', 'mmgenre')),
  /** Where `train`, `run-all` and `serve` look for runs by default. */
  runsDir: resolve(process.env.MMGENRE_RUNS_DIR ?? 'runs'),
  /** Suppress progress output (also MMGENRE_QUIET=1). */
  quiet: process.env.MMGENRE_QUIET === '1',
  /** Local folder for transformers.js / ONNX models (CLIP etc.), for users with models on disk. */
  localModelPath: process.env.MMGENRE_MODELS_DIR ?? join(homedir(), '.cache', 'mmgenre', 'models'),
  /** Whether transformers.js may download models from the hub (off by default: offline first). */
  allowRemoteModels: process.env.MMGENRE_ALLOW_REMOTE_MODELS === '1',
};

export type Env = typeof env;
