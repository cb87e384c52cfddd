/** Per-input feature normalisation: fitted on the training rows by the trainer, stored in the run directory, applied again at prediction. */

/** Standardisation of one input, fitted on the training rows; stored in the run directory. */
export interface Normalizer {
  kind: 'zscore' | 'l2' | 'none';
  mean?: number[];
  std?: number[];
}

/** Fit a normalizer on the non-missing rows of a matrix. */
export function fitNormalizer(
  kind: Normalizer['kind'],
  x: Float32Array,
  dim: number,
  missing: Uint8Array,
): Normalizer {
  if (kind !== 'zscore') return { kind };
  const n = missing.length;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let count = 0;
  for (let r = 0; r < n; r++) {
    if (missing[r]) continue;
    count++;
    for (let j = 0; j < dim; j++) {
      const v = x[r * dim + j];
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const std = new Array<number>(dim);
  for (let j = 0; j < dim; j++) {
    mean[j] = count ? mean[j] / count : 0;
    const variance = count ? sq[j] / count - mean[j] * mean[j] : 1;
    // Constant features (e.g. a dead ReLU channel) keep unit scale instead of dividing by ~0.
    std[j] = variance > 1e-12 ? Math.sqrt(variance) : 1;
  }
  return { kind, mean: Array.from(mean), std };
}

/** Apply a normalizer in place; missing rows become all zeros (the train mean after z-scoring). */
export function applyNormalizer(
  norm: Normalizer,
  x: Float32Array,
  dim: number,
  missing?: Uint8Array,
): Float32Array {
  const n = x.length / dim;
  for (let r = 0; r < n; r++) {
    const row = x.subarray(r * dim, (r + 1) * dim);
    if (missing?.[r]) {
      row.fill(0);
      continue;
    }
    if (norm.kind === 'zscore') {
      const { mean, std } = norm as Required<Normalizer>;
      for (let j = 0; j < dim; j++) row[j] = (row[j] - mean[j]) / std[j];
    } else if (norm.kind === 'l2') {
      let s = 0;
      for (let j = 0; j < dim; j++) s += row[j] * row[j];
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < dim; j++) row[j] *= inv;
    }
  }
  return x;
}
