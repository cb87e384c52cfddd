/**
 * Seeded randomness, in one place: every seeded draw in mmgenre (synthetic data, splits, model
 * initialisation, shuffling, dropout, bootstrap resamples) comes from here.
 *
 * Hand-written on purpose: results must be identical for a seed across versions and platforms,
 * so the algorithms are pinned here rather than left to a library whose output could change,
 * and Math.random cannot be seeded. mulberry32 (public domain): tiny, fast, good enough for
 * data and training, and its whole state is one 32-bit integer (a checkpoint saves it).
 */

/** One mulberry32 step from `state`: the next state and the draw, uniform in [0, 1). */
function mulberry32Step(state: number): [number, number] {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [next, ((t ^ (t >>> 14)) >>> 0) / 4294967296];
}

/** A seeded generator of uniform draws in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let u: number;
    [state, u] = mulberry32Step(state);
    return u;
  };
}

/** mulberry32 with a readable and writable state: what training saves in its checkpoints. */
export class SeededRandom {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let u: number;
    [this.s, u] = mulberry32Step(this.s);
    return u;
  }

  /** The whole state, for checkpoints. */
  get state(): number {
    return this.s;
  }

  set state(value: number) {
    this.s = value >>> 0;
  }

  /** A permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/**
 * Run `fn` (synchronous) with Math.random drawing from `rng`. tfjs-layers' initializers ignore
 * their `seed` (VarianceScaling never passes it on) and a seeded Dropout repeats the same mask
 * every batch; unseeded, both draw from Math.random. So while a model is built and while a
 * training step runs, Math.random is pointed here (restored in `finally`).
 */
export function withSeededRandom<T>(rng: SeededRandom, fn: () => T): T {
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}

/** Draws for generating data (synthetic datasets, splits): uniform, integers, picks, shuffles. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number;
  /** Approximately normal (sum of uniforms), mean 0, sd 1. */
  normal(): number;
  pick<T>(items: readonly T[]): T;
  /** Index drawn with probability proportional to `weights`. */
  weighted(weights: readonly number[]): number;
  /** A new array, shuffled (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
}

export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    range: (lo, hi) => lo + next() * (hi - lo),
    normal: () => next() + next() + next() + next() + next() + next() - 3,
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted(weights) {
      let total = 0;
      for (const w of weights) total += w;
      let r = next() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i];
        if (r < 0) return i;
      }
      return weights.length - 1;
    },
    shuffle(items) {
      const a = items.slice();
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [a[i], a[j]] = [a[j], a[i]];
      }
      return a;
    },
  };
}

/** An independent seed for a numbered sub-stream (e.g. one synthetic movie), so items can be made in any order. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** An independent seed for a named sub-stream (init, shuffling, dropout) of one training seed. */
export function subSeed(seed: number, stream: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < stream.length; i++) {
    h = Math.imul(h ^ stream.charCodeAt(i), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A linear congruential generator of 32-bit integers (Numerical Recipes' constants). Kept beside
 * mulberry32 because fixed test inputs and benchmark batches were drawn from it and stay the same.
 */
export function lcg32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}
