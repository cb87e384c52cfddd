/**
 * Per-genre decision thresholds: tuned on the dev split to maximise each genre's F1, stored
 * beside the model as `thresholds.json`, applied at test time (always reported beside 0.5).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../util/atomic.js';
import { f1FromCounts } from './metrics.js';

/** The threshold every label keeps when it cannot be tuned (no positive in the tuning data). */
export const DEFAULT_THRESHOLD = 0.5;

/**
 * The one default threshold policy of `predict`, `eval`, `serve`, the web page and the library:
 * the paper's 0.5. Per-genre tuned thresholds are opt-in ('tuned'). Measured on random halves of
 * dev (tune on one, score on the other; 15 runs of the sample, scripts/threshold-policy.ts, see
 * docs/thresholds.md), even the robust tuning below only ties 0.5 on macro-F1 (+.001), and raw
 * tuning loses (-.029 macro, -.066 micro) by inventing rare genres.
 */
export const DEFAULT_THRESHOLD_POLICY = '0.5' as const;

/**
 * How mmgenre tunes per-genre thresholds: only genres with at least 20 dev positives are tuned,
 * and their cut is shrunk toward 0.5 with a pseudo-count of 20; the others keep 0.5. Chosen on
 * held-out halves of dev as the policy not worse than 0.5 in expectation (docs/thresholds.md).
 */
export const ROBUST_TUNING = { minPositives: 20, shrink: 20 } as const;

export interface TuneOptions {
  /**
   * A label with fewer positives than this in the tuning data keeps 0.5: its best cut on a
   * handful of movies is noise (one Western in dev gave Western a threshold of 0.001).
   */
  minPositives?: number;
  /**
   * Shrinkage toward 0.5 as a pseudo-count: the tuned cut t* of a label with p positives becomes
   * (p·t* + shrink·0.5) / (p + shrink), so a cut moves far from 0.5 only on many positives.
   */
  shrink?: number;
  /**
   * Candidate thresholds. Default: every cut between two distinct scores of the label (the
   * midpoint, so a prediction is "prob > threshold" exactly as at evaluation), which finds the
   * true maximum of F1 on the data.
   */
  grid?: number[];
}

/**
 * Per label, the threshold that maximises that label's F1 on the given (dev) data.
 * Labels with no positives keep 0.5; among equally good thresholds the one nearest 0.5 wins,
 * so tuning never drifts without a gain in F1.
 */
export function tuneThresholds(
  yTrue: ArrayLike<number>[],
  yProb: ArrayLike<number>[],
  opts: TuneOptions = {},
): number[] {
  if (yTrue.length !== yProb.length) {
    throw new Error(`yTrue has ${yTrue.length} rows but yProb has ${yProb.length}`);
  }
  if (yTrue.length === 0) return [];
  const L = yTrue[0].length;
  const n = yTrue.length;
  const out: number[] = [];
  const scores = new Float64Array(n);
  const truth = new Uint8Array(n);
  for (let j = 0; j < L; j++) {
    let positives = 0;
    for (let i = 0; i < n; i++) {
      const s = yProb[i][j];
      if (!Number.isFinite(s)) throw new Error(`row ${i}, column ${j}: score is not a finite number (${s})`);
      scores[i] = s;
      truth[i] = yTrue[i][j] === 1 ? 1 : 0;
      positives += truth[i];
    }
    if (positives === 0 || positives < (opts.minPositives ?? 0)) {
      out.push(DEFAULT_THRESHOLD);
      continue;
    }
    const best = opts.grid
      ? bestOnGrid(scores, truth, positives, opts.grid)
      : bestCut(scores, truth, positives);
    const k = opts.shrink ?? 0;
    out.push((positives * best + k * DEFAULT_THRESHOLD) / (positives + k));
  }
  return out;
}

function better(f1: number, t: number, bestF1: number, bestT: number): boolean {
  if (f1 > bestF1 + 1e-12) return true;
  return (
    Math.abs(f1 - bestF1) <= 1e-12 && Math.abs(t - DEFAULT_THRESHOLD) < Math.abs(bestT - DEFAULT_THRESHOLD)
  );
}

function bestCut(scores: Float64Array, truth: Uint8Array, positives: number): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  // Start from "predict nothing" (threshold at the top score): F1 = 0.
  let bestT = scores[order[0]];
  let bestF1 = 0;
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (truth[i]) tp++;
    else fp++;
    const lastOfTie = k === n - 1 || scores[order[k + 1]] !== scores[i];
    if (!lastOfTie) continue;
    const next = k === n - 1 ? 0 : scores[order[k + 1]];
    // Predicting this group needs next <= t < score; for the lowest group, t = score / 2
    // (probabilities are >= 0, and a score of 0 can never be predicted).
    if (k === n - 1 && scores[i] <= 0) continue;
    const t = (scores[i] + next) / 2;
    const f1 = f1FromCounts(tp, fp, positives - tp);
    if (better(f1, t, bestF1, bestT)) {
      bestF1 = f1;
      bestT = t;
    }
  }
  return bestT;
}

function bestOnGrid(scores: Float64Array, truth: Uint8Array, positives: number, grid: number[]): number {
  let bestT = DEFAULT_THRESHOLD;
  let bestF1 = -1;
  for (const t of grid) {
    if (!Number.isFinite(t)) throw new Error(`threshold grid holds a non-finite value: ${t}`);
    let tp = 0;
    let fp = 0;
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] > t) {
        if (truth[i]) tp++;
        else fp++;
      }
    }
    const f1 = f1FromCounts(tp, fp, positives - tp);
    if (better(f1, t, bestF1, bestT)) {
      bestF1 = f1;
      bestT = t;
    }
  }
  return bestT;
}

/** `thresholds.json` in a run directory. */
export interface ThresholdsFile {
  labels: string[];
  thresholds: number[];
  /** The split the thresholds were tuned on; 'dev' for every run mmgenre trains. */
  tunedOn: string;
  /** What was maximised per label. */
  objective?: 'f1';
  /** The tuning rule (absent in files written before it: raw per-label tuning). */
  policy?: { minPositives: number; shrink: number };
}

const thresholdsFileSchema = z
  .object({
    labels: z.array(z.string()),
    thresholds: z.array(z.number().finite()),
    tunedOn: z.string(),
    objective: z.literal('f1').optional(),
    policy: z.object({ minPositives: z.number(), shrink: z.number() }).optional(),
  })
  .refine((f) => f.labels.length === f.thresholds.length, {
    message: 'labels and thresholds must have the same length',
  });

export function writeThresholds(path: string, file: ThresholdsFile): void {
  if (file.labels.length !== file.thresholds.length) {
    throw new Error(`${file.labels.length} labels but ${file.thresholds.length} thresholds`);
  }
  writeJsonAtomic(path, { objective: 'f1', ...file });
}

/**
 * Reads a thresholds file. With `labels`, returns thresholds in that order and fails naming
 * every label the file lacks (applying a threshold to the wrong genre would be silent and wrong).
 */
export function readThresholds(path: string, labels?: readonly string[]): ThresholdsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read thresholds file ${path}: ${(err as Error).message}`);
  }
  const parsed = thresholdsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid thresholds file ${path}: ${why}`);
  }
  const file: ThresholdsFile = parsed.data;
  if (!labels) return file;
  const byLabel = new Map(file.labels.map((l, j) => [l, file.thresholds[j]]));
  const missing = labels.filter((l) => !byLabel.has(l));
  if (missing.length > 0) {
    throw new Error(`thresholds file ${path} has no threshold for: ${missing.join(', ')}`);
  }
  return { ...file, labels: [...labels], thresholds: labels.map((l) => byLabel.get(l) as number) };
}
