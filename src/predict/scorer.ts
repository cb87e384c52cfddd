/**
 * What a predictor is built on: a run's inputs with their encoders and a forward pass from encoded
 * rows to probabilities. One tfjs model (most runs) or several runs combined (late fusion).
 */
import type { MovieRecord } from '../data/types.js';
import type { InputSpec, ModelSpec } from '../models/spec.js';
import type { LoadedRun } from '../runs/run.js';
import type { Forward, ForwardResult, GateInfo, InputRows } from './forward.js';

export interface PredictorInputInfo {
  id: string;
  modality: 'poster' | 'plot' | 'title' | 'companies';
  encoder: string;
  /** 'features': a flat vector of `dim` values; 'sequence': token ids, at most `dim` (maxLen) of them. */
  kind: 'features' | 'sequence';
  dim: number;
  /** The encoder and the options the run's features came from (fitted ones included: vocabulary, TF-IDF). */
  source: InputSpec['source'];
}

/** An input's encoder: dense encoders give a vector per movie, sequence encoders token ids. */
export interface PredictorEncoder {
  readonly name: string;
  encode(records: MovieRecord[]): Promise<Array<Float32Array | Int32Array | { error: string }>>;
  dispose(): void;
}

export interface Scorer {
  dir: string;
  name: string;
  labels: string[];
  spec: ModelSpec;
  /** The run's single model, or null when there is none (late fusion). */
  run: LoadedRun | null;
  /** Per-genre thresholds tuned on dev (null when the run has no thresholds.json). */
  tuned: number[] | null;
  inputs: PredictorInputInfo[];
  encoders: PredictorEncoder[];
  /** Probabilities (and gate) for encoded rows; dense rows are raw (the scorer normalises them). */
  forward(x: InputRows[], missing: Uint8Array[], n: number): ForwardResult;
  /** The gated model's explanations (shares, per-genre parts), when it has a gate. */
  explain: Forward | null;
  gate: GateInfo | null;
  dispose(): void;
}

/** What a late fusion uses of each expert run's predictor (a Predictor is one). */
export interface ExpertPredictor {
  readonly dir: string;
  readonly labels: string[];
  readonly inputs: PredictorInputInfo[];
  readonly encoders: readonly PredictorEncoder[];
  predictFeatures(x: InputRows[], missing: Uint8Array[], n: number): ForwardResult;
  dispose(): void;
}

/** The `n` rows of `rows` picked by `which` (in that order). */
export function pickRows(rows: InputRows, dim: number, which: readonly number[]): InputRows {
  if (!(rows instanceof Float32Array)) return which.map((r) => rows[r]);
  const out = new Float32Array(which.length * dim);
  which.forEach((r, j) => out.set(rows.subarray(r * dim, (r + 1) * dim), j * dim));
  return out;
}

/** Empty rows for `n` movies of an input (zeros, or empty sequences). */
export function emptyRows(info: PredictorInputInfo, n: number): InputRows {
  return info.kind === 'sequence'
    ? Array.from({ length: n }, () => new Int32Array(0))
    : new Float32Array(n * info.dim);
}

/** Store one movie's encoded value at row `r`. */
export function setRow(rows: InputRows, dim: number, r: number, v: Float32Array | Int32Array): void {
  if (rows instanceof Float32Array) rows.set(v, r * dim);
  else rows[r] = v as Int32Array;
}
