/** What one training takes and gives back (the pipeline's and the late-fusion trainer's signature). */
import type { RunInfo } from '../runs/run.js';
import type { EpochMetrics, FitResult } from './trainer.js';

export interface TrainRunOptions {
  /** Run directory to create (or continue with `resume`). */
  out: string;
  resume?: boolean;
  signal?: AbortSignal;
  /** Progress bar label, or false for none. */
  progress?: string | false;
  /** Stop after this many epochs in this call (tests of resume). */
  maxEpochsThisCall?: number;
  backend?: 'wasm' | 'cpu';
  /**
   * Where the runs this config reads (a fusion's source runs, a late fusion's experts) are found,
   * and trained first when missing. Default: the folder that holds `out`.
   */
  sourcesDir?: string;
  /** Feature cache folder (default env.cacheDir). */
  cacheDir?: string;
  /** Called after each epoch (loss, dev scores): for progress shown by the caller. */
  onEpoch?: (m: EpochMetrics) => void;
}

export interface TrainRunResult {
  dir: string;
  status: RunInfo['status'];
  fit: Omit<FitResult, 'built'>;
  /** Test metrics at 0.5 and with dev-tuned thresholds (absent when interrupted or no test split). */
  test?: { at05: EvalSummary; tuned: EvalSummary };
}

export interface EvalSummary {
  micro: number;
  macro: number;
  weighted: number;
  samples: number;
}
