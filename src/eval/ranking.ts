/**
 * Threshold-free ranking metrics for one binary column, computed as scikit-learn does.
 *
 * Written by hand: no maintained JS library reproduces sklearn's exact tie handling
 * (one ROC/PR point per distinct score) and this is a few lines over one sort.
 */

/** Cumulative true/false positive counts at each distinct score, highest score first (sklearn's `_binary_clf_curve`). */
export interface BinaryCurve {
  /** Distinct scores, descending. */
  thresholds: number[];
  tps: number[];
  fps: number[];
  positives: number;
  negatives: number;
}

export function binaryCurve(yTrue: ArrayLike<number>, score: ArrayLike<number>): BinaryCurve {
  const n = yTrue.length;
  if (score.length !== n) throw new Error(`yTrue has ${n} entries but score has ${score.length}`);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[b] - score[a]);
  const thresholds: number[] = [];
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (yTrue[i] > 0) tp++;
    else fp++;
    // Tied scores form one point: only emit after the last of a run of equal scores.
    if (k === n - 1 || score[order[k + 1]] !== score[i]) {
      thresholds.push(score[i]);
      tps.push(tp);
      fps.push(fp);
    }
  }
  return { thresholds, tps, fps, positives: tp, negatives: fp };
}

/** Area under the ROC curve (trapezoids; ties count half). Null when only one class is present. */
export function rocAuc(yTrue: ArrayLike<number>, score: ArrayLike<number>): number | null {
  return rocAucFromCurve(binaryCurve(yTrue, score));
}

export function rocAucFromCurve(c: BinaryCurve): number | null {
  if (c.positives === 0 || c.negatives === 0) return null;
  let area = 0;
  let prevTpr = 0;
  let prevFpr = 0;
  for (let k = 0; k < c.tps.length; k++) {
    const tpr = c.tps[k] / c.positives;
    const fpr = c.fps[k] / c.negatives;
    area += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
    prevTpr = tpr;
    prevFpr = fpr;
  }
  return area;
}

/**
 * Average precision as sklearn's `average_precision_score`: sum over distinct thresholds of
 * (R_k − R_{k−1})·P_k, step-wise with no interpolation. Null when there is no positive.
 */
export function averagePrecision(yTrue: ArrayLike<number>, score: ArrayLike<number>): number | null {
  return averagePrecisionFromCurve(binaryCurve(yTrue, score));
}

export function averagePrecisionFromCurve(c: BinaryCurve): number | null {
  if (c.positives === 0) return null;
  let ap = 0;
  let prevRecall = 0;
  for (let k = 0; k < c.tps.length; k++) {
    const recall = c.tps[k] / c.positives;
    const precision = c.tps[k] / (c.tps[k] + c.fps[k]);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return ap;
}
