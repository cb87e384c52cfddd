/**
 * Bootstrap confidence intervals over movies for the headline F1s, and a paired bootstrap of
 * the difference between two models scored on the same movies.
 *
 * Each row's confusion outcome is computed once; a resample then only adds up the outcomes of
 * the drawn rows (sparse: true negatives cost nothing), with no allocation per resample.
 */
import { mulberry32 } from '../util/random.js';
import {
  checkMatrices,
  confusionCounts,
  f1FromCounts,
  resolveThresholds,
  safeDiv,
  type Threshold,
} from './metrics.js';

export type F1Average = 'micro' | 'macro' | 'weighted' | 'samples';
export const F1_AVERAGES: readonly F1Average[] = ['micro', 'macro', 'weighted', 'samples'];

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** PRNG seed (default 42): the same seed gives the same intervals. */
  seed?: number;
  /** Two-sided coverage of the percentile interval (default 0.95). */
  confidence?: number;
  threshold?: Threshold;
}

export interface ConfidenceInterval {
  /** The value on all movies (not the bootstrap mean). */
  estimate: number;
  low: number;
  high: number;
}

export interface BootstrapResult {
  n: number;
  resamples: number;
  seed: number;
  confidence: number;
  f1: Record<F1Average, ConfidenceInterval>;
}

export interface PairedDifference extends ConfidenceInterval {
  /** Two-sided bootstrap p-value for "no difference": 2·min(P(diff ≤ 0), P(diff ≥ 0)), capped at 1. */
  pValue: number;
}

export interface PairedBootstrapResult {
  n: number;
  resamples: number;
  seed: number;
  confidence: number;
  a: Record<F1Average, number>;
  b: Record<F1Average, number>;
  /** A − B. */
  difference: Record<F1Average, PairedDifference>;
}

/** Per-row outcomes in compressed sparse rows: for row i, cells rowStart[i]..rowStart[i+1]. */
interface RowOutcomes {
  nLabels: number;
  rowStart: Uint32Array;
  label: Uint16Array;
  /** 1 = TP, 2 = FP, 3 = FN (true negatives are not stored). */
  kind: Uint8Array;
  /** Each row's own F1 (the samples average is their mean). */
  rowF1: Float64Array;
}

function rowOutcomes(
  yTrue: ArrayLike<number>[],
  yProb: ArrayLike<number>[],
  thresholds: Float64Array,
): RowOutcomes {
  const n = yTrue.length;
  const L = thresholds.length;
  const rowStart = new Uint32Array(n + 1);
  const label: number[] = [];
  const kind: number[] = [];
  const counts = confusionCounts(yTrue, yProb, thresholds);
  const rowF1 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    rowStart[i] = label.length;
    for (let j = 0; j < L; j++) {
      const pred = yProb[i][j] > thresholds[j];
      const truth = yTrue[i][j] === 1;
      if (pred || truth) {
        label.push(j);
        kind.push(pred && truth ? 1 : pred ? 2 : 3);
      }
    }
    rowF1[i] = f1FromCounts(counts.rowTp[i], counts.rowFp[i], counts.rowFn[i]);
  }
  rowStart[n] = label.length;
  return { nLabels: L, rowStart, label: Uint16Array.from(label), kind: Uint8Array.from(kind), rowF1 };
}

/** Reusable buffers for scoring one resample. */
class ResampleScorer {
  private readonly tp: Float64Array;
  private readonly fp: Float64Array;
  private readonly fn: Float64Array;

  constructor(private readonly o: RowOutcomes) {
    this.tp = new Float64Array(o.nLabels);
    this.fp = new Float64Array(o.nLabels);
    this.fn = new Float64Array(o.nLabels);
  }

  /** Writes micro, macro, weighted, samples F1 of the rows in `draw` into out[0..3]. */
  score(draw: Uint32Array, out: Float64Array): void {
    const { tp, fp, fn } = this;
    const o = this.o;
    tp.fill(0);
    fp.fill(0);
    fn.fill(0);
    let samples = 0;
    for (let d = 0; d < draw.length; d++) {
      const i = draw[d];
      samples += o.rowF1[i];
      for (let c = o.rowStart[i]; c < o.rowStart[i + 1]; c++) {
        const k = o.kind[c];
        if (k === 1) tp[o.label[c]]++;
        else if (k === 2) fp[o.label[c]]++;
        else fn[o.label[c]]++;
      }
    }
    let sTp = 0;
    let sFp = 0;
    let sFn = 0;
    let macro = 0;
    let weightedSum = 0;
    for (let j = 0; j < o.nLabels; j++) {
      const f = f1FromCounts(tp[j], fp[j], fn[j]);
      macro += f;
      weightedSum += f * (tp[j] + fn[j]);
      sTp += tp[j];
      sFp += fp[j];
      sFn += fn[j];
    }
    out[0] = f1FromCounts(sTp, sFp, sFn);
    out[1] = o.nLabels === 0 ? 0 : macro / o.nLabels;
    out[2] = safeDiv(weightedSum, sTp + sFn);
    out[3] = safeDiv(samples, draw.length);
  }
}

/** numpy's default (linear) percentile of sorted values, q in [0, 1]. */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

function settings(opts: BootstrapOptions): { resamples: number; seed: number; confidence: number } {
  const resamples = opts.resamples ?? 1000;
  const seed = opts.seed ?? 42;
  const confidence = opts.confidence ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new Error(`resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new Error(`confidence must be in (0, 1), got ${confidence}`);
  return { resamples, seed, confidence };
}

/** Runs `resamples` draws of n row indices with replacement, calling `each(draw, r)`. */
function forEachResample(
  n: number,
  resamples: number,
  seed: number,
  each: (draw: Uint32Array, r: number) => void,
): void {
  const rand = mulberry32(seed);
  const draw = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let d = 0; d < n; d++) draw[d] = Math.floor(rand() * n);
    each(draw, r);
  }
}

function intervals(
  values: Float64Array[],
  estimates: Float64Array,
  confidence: number,
): Record<F1Average, ConfidenceInterval> {
  const alpha = (1 - confidence) / 2;
  const out = {} as Record<F1Average, ConfidenceInterval>;
  F1_AVERAGES.forEach((avg, m) => {
    const sorted = Float64Array.from(values[m]).sort();
    out[avg] = {
      estimate: estimates[m],
      low: percentileSorted(sorted, alpha),
      high: percentileSorted(sorted, 1 - alpha),
    };
  });
  return out;
}

/** Percentile bootstrap CIs (over movies) for micro, macro, weighted and samples F1. */
export function bootstrapF1(
  yTrue: ArrayLike<number>[],
  yProb: ArrayLike<number>[],
  opts: BootstrapOptions = {},
): BootstrapResult {
  const { resamples, seed, confidence } = settings(opts);
  const n = yTrue.length;
  if (n === 0) throw new Error('cannot bootstrap over zero movies');
  const L = yTrue[0].length;
  checkMatrices(yTrue, yProb, L);
  const scorer = new ResampleScorer(rowOutcomes(yTrue, yProb, resolveThresholds(opts.threshold, L)));
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const estimates = new Float64Array(4);
  scorer.score(all, estimates);
  const values = F1_AVERAGES.map(() => new Float64Array(resamples));
  const out = new Float64Array(4);
  forEachResample(n, resamples, seed, (draw, r) => {
    scorer.score(draw, out);
    for (let m = 0; m < 4; m++) values[m][r] = out[m];
  });
  return { n, resamples, seed, confidence, f1: intervals(values, estimates, confidence) };
}

/**
 * Paired bootstrap of F1(A) − F1(B) on the same movies: both models are scored on the same
 * resampled rows, so the shared difficulty of the movies cancels out.
 */
export function pairedBootstrapF1(
  yTrue: ArrayLike<number>[],
  probA: ArrayLike<number>[],
  probB: ArrayLike<number>[],
  opts: BootstrapOptions & { thresholdB?: Threshold } = {},
): PairedBootstrapResult {
  const { resamples, seed, confidence } = settings(opts);
  const n = yTrue.length;
  if (n === 0) throw new Error('cannot bootstrap over zero movies');
  const L = yTrue[0].length;
  checkMatrices(yTrue, probA, L);
  checkMatrices(yTrue, probB, L);
  const scorerA = new ResampleScorer(rowOutcomes(yTrue, probA, resolveThresholds(opts.threshold, L)));
  const scorerB = new ResampleScorer(
    rowOutcomes(yTrue, probB, resolveThresholds(opts.thresholdB ?? opts.threshold, L)),
  );
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const estA = new Float64Array(4);
  const estB = new Float64Array(4);
  scorerA.score(all, estA);
  scorerB.score(all, estB);
  const diffs = F1_AVERAGES.map(() => new Float64Array(resamples));
  const outA = new Float64Array(4);
  const outB = new Float64Array(4);
  forEachResample(n, resamples, seed, (draw, r) => {
    scorerA.score(draw, outA);
    scorerB.score(draw, outB);
    for (let m = 0; m < 4; m++) diffs[m][r] = outA[m] - outB[m];
  });
  const estDiff = estA.map((v, m) => v - estB[m]);
  const ci = intervals(diffs, estDiff, confidence);
  const difference = {} as Record<F1Average, PairedDifference>;
  const a = {} as Record<F1Average, number>;
  const b = {} as Record<F1Average, number>;
  F1_AVERAGES.forEach((avg, m) => {
    let le = 0;
    let ge = 0;
    for (const d of diffs[m]) {
      if (d <= 0) le++;
      if (d >= 0) ge++;
    }
    difference[avg] = { ...ci[avg], pValue: Math.min(1, (2 * Math.min(le, ge)) / resamples) };
    a[avg] = estA[m];
    b[avg] = estB[m];
  });
  return { n, resamples, seed, confidence, a, b, difference };
}
