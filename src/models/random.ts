/**
 * Seeded randomness for training: a PRNG whose state can be saved in a checkpoint and
 * restored, and a way to make tfjs draw from it.
 *
 * Why hand-written: tfjs-layers' initializers ignore their `seed` (VarianceScaling never passes
 * it on) and a seeded Dropout repeats the same mask every batch; unseeded, both draw their
 * seed from Math.random. So while a model is built and while a training step runs, Math.random
 * is pointed at this PRNG (synchronously, restored in `finally`). mulberry32: tiny, fast,
 * and its whole state is one 32-bit integer.
 */
export class SeededRandom {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
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

/** Run `fn` (synchronous) with Math.random drawing from `rng`. */
export function withSeededRandom<T>(rng: SeededRandom, fn: () => T): T {
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return fn();
  } finally {
    Math.random = original;
  }
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
