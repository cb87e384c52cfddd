/**
 * Paired bootstrap over movies of the difference in macro ROC-AUC between two models scored on
 * the same movies.
 *
 * Written by hand: src/eval's bootstrap covers F1 only, and recomputing sklearn-style AUC per
 * resample would sort every column 1,000 times. Here each column is sorted once; a resample is
 * a vector of draw counts (weights), and the weighted Mann–Whitney AUC (ties count half) is one
 * pass over the sorted column — equal to the AUC of the resampled rows.
 */
import { percentileSorted } from '../../eval/bootstrap.js';
import { mulberry32 } from '../../util/random.js';

export interface AucDifference {
  /** Macro ROC-AUC of A and B on all the movies, and A − B. */
  a: number;
  b: number;
  estimate: number;
  /** Percentile interval of A − B over resamples. */
  low: number;
  high: number;
  /** Two-sided bootstrap p-value for "no difference": 2·min(P(Δ ≤ 0), P(Δ ≥ 0)), capped at 1. */
  pValue: number;
  n: number;
  resamples: number;
}

interface SortedColumn {
  /** Row indices in ascending score order. */
  order: Uint32Array;
  /** Start of each group of tied scores in `order` (plus a final n). */
  groups: Uint32Array;
}

function sortColumn(score: Float64Array): SortedColumn {
  const n = score.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((p, q) => score[p] - score[q]);
  const groups: number[] = [0];
  for (let k = 1; k < n; k++) if (score[order[k]] !== score[order[k - 1]]) groups.push(k);
  groups.push(n);
  return { order, groups: Uint32Array.from(groups) };
}

/** Weighted AUC of one column (null when a class has zero weight). */
function weightedAuc(col: SortedColumn, y: Uint8Array, w: Float64Array): number | null {
  let negBelow = 0;
  let pairs = 0;
  let pos = 0;
  let neg = 0;
  const { order, groups } = col;
  for (let g = 0; g + 1 < groups.length; g++) {
    let gPos = 0;
    let gNeg = 0;
    for (let k = groups[g]; k < groups[g + 1]; k++) {
      const i = order[k];
      if (y[i]) gPos += w[i];
      else gNeg += w[i];
    }
    pairs += gPos * (negBelow + gNeg / 2);
    negBelow += gNeg;
    pos += gPos;
    neg += gNeg;
  }
  return pos > 0 && neg > 0 ? pairs / (pos * neg) : null;
}

/** Macro AUC of A and B under weights `w`, over the labels with both classes present. */
function macroPair(
  cols: { y: Uint8Array; a: SortedColumn; b: SortedColumn }[],
  w: Float64Array,
): [number, number] {
  let sa = 0;
  let sb = 0;
  let used = 0;
  for (const c of cols) {
    const aa = weightedAuc(c.a, c.y, w);
    if (aa === null) continue;
    sa += aa;
    sb += weightedAuc(c.b, c.y, w)!;
    used++;
  }
  return used ? [sa / used, sb / used] : [NaN, NaN];
}

function columns(
  yTrue: ArrayLike<number>[],
  probs: ArrayLike<number>[][],
): { y: Uint8Array; s: SortedColumn[] }[] {
  const n = yTrue.length;
  const L = n ? yTrue[0].length : 0;
  return Array.from({ length: L }, (_, j) => ({
    y: Uint8Array.from({ length: n }, (_, i) => (yTrue[i][j] > 0 ? 1 : 0)),
    s: probs.map((p) => sortColumn(Float64Array.from({ length: n }, (_, i) => p[i][j]))),
  }));
}

/**
 * Macro ROC-AUC with row weights (a row drawn k times in a resample has weight k), over the
 * labels with both classes present; equals sklearn's on the materialised rows. NaN when none.
 */
export function macroAucWeighted(
  yTrue: ArrayLike<number>[],
  prob: ArrayLike<number>[],
  weights: Float64Array,
): number {
  let sum = 0;
  let used = 0;
  for (const c of columns(yTrue, [prob])) {
    const auc = weightedAuc(c.s[0], c.y, weights);
    if (auc === null) continue;
    sum += auc;
    used++;
  }
  return used ? sum / used : NaN;
}

/** Paired bootstrap of macroAUC(A) − macroAUC(B); rows of yTrue, probA and probB are the same movies. */
export function pairedBootstrapMacroAuc(
  yTrue: ArrayLike<number>[],
  probA: ArrayLike<number>[],
  probB: ArrayLike<number>[],
  opts: { resamples?: number; seed?: number; confidence?: number } = {},
): AucDifference {
  const n = yTrue.length;
  if (n === 0) throw new Error('cannot bootstrap over zero movies');
  if (probA.length !== n || probB.length !== n) throw new Error('yTrue, probA and probB need the same rows');
  const resamples = opts.resamples ?? 1000;
  const confidence = opts.confidence ?? 0.95;
  const cols = columns(yTrue, [probA, probB]).map((c) => ({ y: c.y, a: c.s[0], b: c.s[1] }));
  const ones = new Float64Array(n).fill(1);
  const [a, b] = macroPair(cols, ones);
  const rand = mulberry32(opts.seed ?? 42);
  const w = new Float64Array(n);
  const diffs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    w.fill(0);
    for (let d = 0; d < n; d++) w[Math.floor(rand() * n)]++;
    const [ra, rb] = macroPair(cols, w);
    if (Number.isFinite(ra)) diffs.push(ra - rb);
  }
  const sorted = Float64Array.from(diffs).sort();
  const alpha = (1 - confidence) / 2;
  let le = 0;
  let ge = 0;
  for (const d of diffs) {
    if (d <= 0) le++;
    if (d >= 0) ge++;
  }
  return {
    a,
    b,
    estimate: a - b,
    low: percentileSorted(sorted, alpha),
    high: percentileSorted(sorted, 1 - alpha),
    pValue: diffs.length ? Math.min(1, (2 * Math.min(le, ge)) / diffs.length) : 1,
    n,
    resamples,
  };
}
