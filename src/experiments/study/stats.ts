/** Summaries of a metric over seeds. */

export interface Spread {
  mean: number;
  /** Sample standard deviation (n − 1); 0 for a single seed. */
  std: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return {
    mean,
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0,
    min: Math.min(...values),
    max: Math.max(...values),
    n,
  };
}

/** 'mean ± std' with `digits` decimals (just the mean for one seed). */
export function formatSpread(s: Spread | undefined, digits = 4): string {
  if (!s || s.n === 0 || !Number.isFinite(s.mean)) return '–';
  return s.n > 1 ? `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}` : s.mean.toFixed(digits);
}
