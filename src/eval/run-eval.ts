/**
 * The evaluation of one model on one split, at 0.5 and (when available) with per-genre
 * thresholds tuned on dev: written by `mmgenre eval --json` and run-all (test-eval.json), read by
 * `mmgenre compare`, which also reads a training run's own eval.json (dev and test metrics).
 */
import { readFileSync } from 'node:fs';
import { writeJsonAtomic } from '../util/atomic.js';
import { bootstrapF1, type BootstrapResult } from './bootstrap.js';
import { evaluate, type MultilabelMetrics } from './metrics.js';

export const RUN_EVAL_FORMAT = 'mmgenre-eval/1';

export interface EvalVariant {
  /** 'default': threshold 0.5 (the paper's protocol); 'tuned': per-genre thresholds; 'fixed': another single threshold. */
  kind: 'default' | 'tuned' | 'fixed';
  /** The split the thresholds were tuned on (kind 'tuned'). */
  tunedOn?: string;
  metrics: MultilabelMetrics;
  bootstrap?: BootstrapResult;
}

/** Predicting no genre at all: the floor every label-wise accuracy must be read against. */
export interface AllNegativeBaseline {
  labelwiseAccuracy: number;
  hammingLoss: number;
  subsetAccuracy: number;
}

export interface RunEvalFile {
  format: typeof RUN_EVAL_FORMAT;
  /** Model name (e.g. 'gmu'), when known. */
  model?: string;
  /** Dataset name or path and split the metrics are on. */
  dataset?: string;
  split?: string;
  n: number;
  /** variants[0] is always kind 'default' (0.5); a tuned variant, when present, comes after it. */
  variants: EvalVariant[];
  allNegative: AllNegativeBaseline;
  [extra: string]: unknown;
}

export function allNegativeBaseline(yTrue: ArrayLike<number>[]): AllNegativeBaseline {
  let positives = 0;
  let cells = 0;
  let emptyRows = 0;
  for (const row of yTrue) {
    let rowPos = 0;
    for (let j = 0; j < row.length; j++) rowPos += row[j] === 1 ? 1 : 0;
    positives += rowPos;
    cells += row.length;
    if (rowPos === 0) emptyRows++;
  }
  const hammingLoss = cells === 0 ? 0 : positives / cells;
  return {
    labelwiseAccuracy: cells === 0 ? 0 : 1 - hammingLoss,
    hammingLoss,
    subsetAccuracy: yTrue.length === 0 ? 0 : emptyRows / yTrue.length,
  };
}

export interface BuildRunEvalInput {
  yTrue: ArrayLike<number>[];
  yProb: ArrayLike<number>[];
  labels: readonly string[];
  /** Per-genre thresholds (in `labels` order) tuned on `tunedOn`. */
  tunedThresholds?: ArrayLike<number>;
  tunedOn?: string;
  /** A single threshold other than 0.5 to report beside 0.5. */
  fixedThreshold?: number;
  /** Bootstrap resamples for the F1 CIs (0 or absent: none). */
  bootstrap?: number;
  seed?: number;
  model?: string;
  dataset?: string;
  split?: string;
}

/** Evaluates at 0.5 and, when given, with tuned thresholds or another fixed threshold. */
export function buildRunEval(input: BuildRunEvalInput): RunEvalFile {
  const { yTrue, yProb, labels } = input;
  const withBootstrap = (threshold: number | ArrayLike<number>): BootstrapResult | undefined =>
    input.bootstrap && input.bootstrap > 0 && yTrue.length > 0
      ? bootstrapF1(yTrue, yProb, { threshold, resamples: input.bootstrap, seed: input.seed })
      : undefined;
  const variant = (
    kind: EvalVariant['kind'],
    threshold: number | ArrayLike<number>,
    tunedOn?: string,
  ): EvalVariant => {
    const v: EvalVariant = { kind, metrics: evaluate(yTrue, yProb, labels, { threshold }) };
    if (tunedOn) v.tunedOn = tunedOn;
    const b = withBootstrap(threshold);
    if (b) v.bootstrap = b;
    return v;
  };
  const variants = [variant('default', 0.5)];
  if (input.fixedThreshold !== undefined && input.fixedThreshold !== 0.5)
    variants.push(variant('fixed', input.fixedThreshold));
  if (input.tunedThresholds)
    variants.push(variant('tuned', Array.from(input.tunedThresholds), input.tunedOn ?? 'dev'));
  const file: RunEvalFile = {
    format: RUN_EVAL_FORMAT,
    n: yTrue.length,
    variants,
    allNegative: allNegativeBaseline(yTrue),
  };
  if (input.model) file.model = input.model;
  if (input.dataset) file.dataset = input.dataset;
  if (input.split) file.split = input.split;
  return file;
}

export function writeRunEval(path: string, file: RunEvalFile): void {
  writeJsonAtomic(path, file);
}

const isMetrics = (v: unknown): v is MultilabelMetrics =>
  typeof v === 'object' && v !== null && typeof (v as MultilabelMetrics).f1?.macro === 'number';

/**
 * A training run's eval.json ({ run, bestEpoch, dev, test: { at05, tuned } }) as the evaluation
 * of its test split; undefined when `json` is not one. The all-negative baseline's label-wise
 * figures follow from the genres' supports; its subset accuracy does not (NaN).
 */
export function runEvalFromTrainerEval(json: unknown): RunEvalFile | undefined {
  const test = (json as { test?: { at05?: unknown; tuned?: unknown } } | null)?.test;
  if (!test || !isMetrics(test.at05)) return undefined;
  const at05 = test.at05;
  const variants: EvalVariant[] = [{ kind: 'default', metrics: at05 }];
  if (isMetrics(test.tuned)) variants.push({ kind: 'tuned', tunedOn: 'dev', metrics: test.tuned });
  const positives = at05.perLabel.reduce((sum, l) => sum + l.support, 0);
  const cells = at05.n * at05.labels.length;
  const hammingLoss = cells === 0 ? NaN : positives / cells;
  const file: RunEvalFile = {
    format: RUN_EVAL_FORMAT,
    n: at05.n,
    split: 'test',
    variants,
    allNegative: { labelwiseAccuracy: 1 - hammingLoss, hammingLoss, subsetAccuracy: NaN },
  };
  const run = (json as { run?: unknown }).run;
  if (typeof run === 'string') file.model = run;
  return file;
}

/**
 * Reads an evaluation file — `mmgenre eval --json`'s format, or a training run's eval.json —
 * failing with a clear message when it is neither.
 */
export function readRunEval(path: string): RunEvalFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read evaluation file ${path}: ${(err as Error).message}`);
  }
  const f = raw as Partial<RunEvalFile>;
  if (f?.format !== RUN_EVAL_FORMAT) {
    const fromRun = runEvalFromTrainerEval(raw);
    if (fromRun) return fromRun;
  }
  if (f?.format !== RUN_EVAL_FORMAT || !Array.isArray(f.variants) || f.variants.length === 0) {
    throw new Error(
      `${path} is not an mmgenre evaluation file (expected format "${RUN_EVAL_FORMAT}" with variants, or a training run's eval.json)`,
    );
  }
  for (const [i, v] of f.variants.entries()) {
    if (!v?.metrics?.f1 || typeof v.metrics.f1.macro !== 'number') {
      throw new Error(`${path}: variant ${i} has no metrics.f1`);
    }
  }
  return f as RunEvalFile;
}
