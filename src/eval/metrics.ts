/**
 * The paper's multi-label metrics, matching scikit-learn 1.2 (zero_division=0) to floating-point noise.
 * Rows are movies, columns are labels; a label is predicted iff its probability is strictly above the threshold.
 *
 * Written by hand because no JS library computes sklearn's multi-label averages; each is a
 * handful of sums over one pass of confusion counts (validated against sklearn's own output
 * in test/eval/metrics.test.ts).
 */
import { averagePrecision, rocAuc } from './ranking.js';

export type Threshold = number | ArrayLike<number>;

export interface EvalOptions {
  /** Default 0.5; a per-label array for tuned thresholds. Predicted iff prob > threshold (strict). */
  threshold?: Threshold;
}

export interface PerLabelMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  /** Null when the label has only one class in the evaluated rows. */
  rocAuc: number | null;
  /** Null when the label has no positive in the evaluated rows. */
  averagePrecision: number | null;
}

export interface Averages {
  micro: number;
  macro: number;
  weighted: number;
  samples: number;
}

export interface MultilabelMetrics {
  n: number;
  labels: string[];
  threshold: number | number[];
  f1: Averages;
  precision: Averages;
  recall: Averages;
  /** Macro over the labels with both classes present (`labelsUsed`); micro over the flattened matrix. */
  rocAuc: { micro: number | null; macro: number | null; labelsUsed: string[]; labelsLeftOut: string[] };
  /** Macro over the same labels as ROC-AUC's macro (as the sklearn fixture does); micro over the flattened matrix. */
  averagePrecision: { micro: number | null; macro: number | null };
  hammingLoss: number;
  subsetAccuracy: number;
  /** Fraction of (movie, label) cells right: 1 − Hamming loss. Dominated by negatives on MM-IMDB. */
  labelwiseAccuracy: number;
  perLabel: PerLabelMetrics[];
}

/** Per-label thresholds as a Float64Array of length `nLabels`, validated. */
export function resolveThresholds(threshold: Threshold | undefined, nLabels: number): Float64Array {
  const out = new Float64Array(nLabels);
  if (threshold === undefined || typeof threshold === 'number') {
    const t = threshold ?? 0.5;
    if (!Number.isFinite(t)) throw new Error(`threshold must be a finite number, got ${t}`);
    out.fill(t);
    return out;
  }
  if (threshold.length !== nLabels) {
    throw new Error(`got ${threshold.length} per-label thresholds for ${nLabels} labels`);
  }
  for (let j = 0; j < nLabels; j++) {
    const t = threshold[j];
    if (typeof t !== 'number' || !Number.isFinite(t))
      throw new Error(`threshold for label ${j} is not a finite number: ${t}`);
    out[j] = t;
  }
  return out;
}

/** Throws a clear error unless yTrue and yProb are n×L, yTrue 0/1 and yProb finite in [0, 1]. */
export function checkMatrices(yTrue: ArrayLike<number>[], yProb: ArrayLike<number>[], nLabels: number): void {
  if (yTrue.length !== yProb.length) {
    throw new Error(`yTrue has ${yTrue.length} rows but yProb has ${yProb.length}`);
  }
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    const p = yProb[i];
    if (t.length !== nLabels || p.length !== nLabels) {
      throw new Error(
        `row ${i}: expected ${nLabels} columns, yTrue has ${t.length} and yProb has ${p.length}`,
      );
    }
    for (let j = 0; j < nLabels; j++) {
      if (t[j] !== 0 && t[j] !== 1)
        throw new Error(`row ${i}, column ${j}: yTrue must be 0 or 1, got ${t[j]}`);
      const v = p[j];
      if (!(v >= 0 && v <= 1))
        throw new Error(`row ${i}, column ${j}: probability must be in [0, 1], got ${v}`);
    }
  }
}

/** Per-label and per-row confusion counts at the given thresholds. */
export interface ConfusionCounts {
  n: number;
  nLabels: number;
  tp: Float64Array;
  fp: Float64Array;
  fn: Float64Array;
  rowTp: Uint32Array;
  rowFp: Uint32Array;
  rowFn: Uint32Array;
}

export function confusionCounts(
  yTrue: ArrayLike<number>[],
  yProb: ArrayLike<number>[],
  thresholds: Float64Array,
): ConfusionCounts {
  const n = yTrue.length;
  const L = thresholds.length;
  const c: ConfusionCounts = {
    n,
    nLabels: L,
    tp: new Float64Array(L),
    fp: new Float64Array(L),
    fn: new Float64Array(L),
    rowTp: new Uint32Array(n),
    rowFp: new Uint32Array(n),
    rowFn: new Uint32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const t = yTrue[i];
    const p = yProb[i];
    let rtp = 0;
    let rfp = 0;
    let rfn = 0;
    for (let j = 0; j < L; j++) {
      const pred = p[j] > thresholds[j];
      const truth = t[j] === 1;
      if (pred && truth) {
        c.tp[j]++;
        rtp++;
      } else if (pred) {
        c.fp[j]++;
        rfp++;
      } else if (truth) {
        c.fn[j]++;
        rfn++;
      }
    }
    c.rowTp[i] = rtp;
    c.rowFp[i] = rfp;
    c.rowFn[i] = rfn;
  }
  return c;
}

/** x / y, or 0 when y is 0 (sklearn's zero_division=0). */
export function safeDiv(x: number, y: number): number {
  return y === 0 ? 0 : x / y;
}

/** F1 from counts: 2TP / (2TP + FP + FN), 0 when undefined. */
export function f1FromCounts(tp: number, fp: number, fn: number): number {
  return safeDiv(2 * tp, 2 * tp + fp + fn);
}

interface PrfAverages {
  precision: Averages;
  recall: Averages;
  f1: Averages;
  perLabel: { precision: number[]; recall: number[]; f1: number[]; support: number[] };
}

export function averagesFromCounts(c: ConfusionCounts): PrfAverages {
  const L = c.nLabels;
  const precision: number[] = [];
  const recall: number[] = [];
  const f1: number[] = [];
  const support: number[] = [];
  let sumTp = 0;
  let sumFp = 0;
  let sumFn = 0;
  for (let j = 0; j < L; j++) {
    precision.push(safeDiv(c.tp[j], c.tp[j] + c.fp[j]));
    recall.push(safeDiv(c.tp[j], c.tp[j] + c.fn[j]));
    f1.push(f1FromCounts(c.tp[j], c.fp[j], c.fn[j]));
    support.push(c.tp[j] + c.fn[j]);
    sumTp += c.tp[j];
    sumFp += c.fp[j];
    sumFn += c.fn[j];
  }
  const totalSupport = sumTp + sumFn;
  const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
  const weighted = (xs: number[]): number =>
    safeDiv(
      xs.reduce((a, x, j) => a + x * support[j], 0),
      totalSupport,
    );
  // Samples average: per movie, then the mean over movies. A movie with no true and no
  // predicted genre scores 0 (sklearn 1.2 with zero_division=0, as the fixture shows).
  let sp = 0;
  let sr = 0;
  let sf = 0;
  for (let i = 0; i < c.n; i++) {
    sp += safeDiv(c.rowTp[i], c.rowTp[i] + c.rowFp[i]);
    sr += safeDiv(c.rowTp[i], c.rowTp[i] + c.rowFn[i]);
    sf += f1FromCounts(c.rowTp[i], c.rowFp[i], c.rowFn[i]);
  }
  const n = c.n;
  return {
    precision: {
      micro: safeDiv(sumTp, sumTp + sumFp),
      macro: mean(precision),
      weighted: weighted(precision),
      samples: safeDiv(sp, n),
    },
    recall: {
      micro: safeDiv(sumTp, sumTp + sumFn),
      macro: mean(recall),
      weighted: weighted(recall),
      samples: safeDiv(sr, n),
    },
    f1: {
      micro: f1FromCounts(sumTp, sumFp, sumFn),
      macro: mean(f1),
      weighted: weighted(f1),
      samples: safeDiv(sf, n),
    },
    perLabel: { precision, recall, f1, support },
  };
}

/** Every metric of the paper and of the later "accuracy / AUC-ROC" studies, on one set of predictions. */
export function evaluate(
  yTrue: ArrayLike<number>[],
  yProb: ArrayLike<number>[],
  labels: readonly string[],
  opts: EvalOptions = {},
): MultilabelMetrics {
  const L = labels.length;
  checkMatrices(yTrue, yProb, L);
  const thresholds = resolveThresholds(opts.threshold, L);
  const counts = confusionCounts(yTrue, yProb, thresholds);
  const avg = averagesFromCounts(counts);
  const n = yTrue.length;

  let exact = 0;
  let wrongCells = 0;
  for (let i = 0; i < n; i++) {
    const wrong = counts.rowFp[i] + counts.rowFn[i];
    wrongCells += wrong;
    if (wrong === 0) exact++;
  }
  const hammingLoss = safeDiv(wrongCells, n * L);

  const perLabel: PerLabelMetrics[] = [];
  const labelsUsed: string[] = [];
  const labelsLeftOut: string[] = [];
  const usedAuc: number[] = [];
  const usedAp: number[] = [];
  const colTrue = new Float64Array(n);
  const colProb = new Float64Array(n);
  for (let j = 0; j < L; j++) {
    for (let i = 0; i < n; i++) {
      colTrue[i] = yTrue[i][j];
      colProb[i] = yProb[i][j];
    }
    const auc = rocAuc(colTrue, colProb);
    const ap = averagePrecision(colTrue, colProb);
    if (auc === null) labelsLeftOut.push(labels[j]);
    else {
      labelsUsed.push(labels[j]);
      usedAuc.push(auc);
      usedAp.push(ap as number);
    }
    perLabel.push({
      label: labels[j],
      precision: avg.perLabel.precision[j],
      recall: avg.perLabel.recall[j],
      f1: avg.perLabel.f1[j],
      support: avg.perLabel.support[j],
      rocAuc: auc,
      averagePrecision: ap,
    });
  }
  const flatTrue = new Float64Array(n * L);
  const flatProb = new Float64Array(n * L);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < L; j++) {
      flatTrue[i * L + j] = yTrue[i][j];
      flatProb[i * L + j] = yProb[i][j];
    }
  }
  const meanOrNull = (xs: number[]): number | null =>
    xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;

  return {
    n,
    labels: [...labels],
    threshold: typeof opts.threshold === 'object' ? Array.from(thresholds) : (opts.threshold ?? 0.5),
    f1: avg.f1,
    precision: avg.precision,
    recall: avg.recall,
    rocAuc: { micro: rocAuc(flatTrue, flatProb), macro: meanOrNull(usedAuc), labelsUsed, labelsLeftOut },
    averagePrecision: { micro: averagePrecision(flatTrue, flatProb), macro: meanOrNull(usedAp) },
    hammingLoss,
    subsetAccuracy: safeDiv(exact, n),
    labelwiseAccuracy: n * L === 0 ? 0 : 1 - hammingLoss,
    perLabel,
  };
}

/** Macro F1 only, without validation or ranking metrics: the per-epoch early-stopping score. */
export function macroF1(
  yTrue: ArrayLike<number>[],
  yProb: ArrayLike<number>[],
  threshold?: Threshold,
): number {
  if (yTrue.length !== yProb.length)
    throw new Error(`yTrue has ${yTrue.length} rows but yProb has ${yProb.length}`);
  if (yTrue.length === 0) return 0;
  const L = yTrue[0].length;
  const t = resolveThresholds(threshold, L);
  const tp = new Float64Array(L);
  const fp = new Float64Array(L);
  const fn = new Float64Array(L);
  for (let i = 0; i < yTrue.length; i++) {
    const yt = yTrue[i];
    const yp = yProb[i];
    for (let j = 0; j < L; j++) {
      const pred = yp[j] > t[j];
      if (yt[j] === 1) {
        if (pred) tp[j]++;
        else fn[j]++;
      } else if (pred) fp[j]++;
    }
  }
  let sum = 0;
  for (let j = 0; j < L; j++) sum += f1FromCounts(tp[j], fp[j], fn[j]);
  return L === 0 ? 0 : sum / L;
}
