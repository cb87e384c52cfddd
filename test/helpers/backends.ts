import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../../src/engine/index.js';
import { lcg32 } from '../../src/util/random.js';

export type BackendName = 'wasm' | 'cpu';

/**
 * Runs the same computation on the wasm and the cpu backend and returns the outputs as plain
 * arrays: the cpu backend is tfjs's plain-JS reference, so agreement checks a wasm kernel (or a
 * fix of one). `compute` must build everything it uses from plain data (no tensors shared across
 * backends). The previously selected backend is restored afterwards.
 */
export async function onBothBackends(
  compute: () => tf.Tensor | tf.Tensor[] | Promise<tf.Tensor | tf.Tensor[]>,
): Promise<Record<BackendName, Float32Array[]>> {
  const previous = tf.engine().backendName as BackendName | undefined;
  const out = {} as Record<BackendName, Float32Array[]>;
  try {
    for (const backend of ['wasm', 'cpu'] as const) {
      await initEngine({ backend });
      const result = await compute();
      const tensors = Array.isArray(result) ? result : [result];
      out[backend] = tensors.map((t) => Float32Array.from(t.dataSync()));
      tf.dispose(tensors);
    }
  } finally {
    if (previous && previous !== tf.engine().backendName) await initEngine({ backend: previous });
  }
  return out;
}

/** max |a − b| / max(|b|) (relative to the reference's scale, so near-zero entries don't explode). */
export function maxRelativeDifference(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length)
    throw new Error(`length mismatch: ${actual.length} vs ${reference.length}`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < reference.length; i++) {
    scale = Math.max(scale, Math.abs(reference[i]));
    const d = Math.abs(actual[i] - reference[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
  }
  return diff / Math.max(scale, 1e-12);
}

/**
 * Deterministic pseudo-random values in [−scale, scale) from a seed (a linear congruential
 * generator): the same numbers on every backend, unlike tfjs' tensor-level RNG.
 */
export function pseudoRandomValues(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  const next = lcg32(seed);
  for (let i = 0; i < n; i++) out[i] = ((next() / 2 ** 32) * 2 - 1) * scale;
  return out;
}
