/**
 * Length-bucketed batches for the recurrent-epoch benchmark: each batch is padded only to its own
 * longest sequence. The trainer buckets its own batches (src/train/batches.ts); this is the
 * benchmark's fixed batching, so its figures compare like with like across runs.
 */
import { lcg32 } from '../src/util/random.js';

/**
 * Orders examples into batches of similar length, so a batch is padded only to its own longest
 * sequence (less wasted recurrence). Sorting is by length; batches are then shuffled with `seed`
 * (deterministic) so training does not see lengths in order. Returns batches of indices.
 */
export function bucketByLength(lengths: ArrayLike<number>, batchSize: number, seed?: number): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort(
    (a, b) => lengths[a] - lengths[b] || a - b,
  );
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  if (seed !== undefined) {
    const next = lcg32(seed);
    for (let i = batches.length - 1; i > 0; i--) {
      const j = next() % (i + 1);
      [batches[i], batches[j]] = [batches[j], batches[i]];
    }
  }
  return batches;
}

/** Longest real length in a batch (pad the batch to this, not to the global maximum). */
export function batchMaxLength(lengths: ArrayLike<number>, batch: number[]): number {
  let max = 1;
  for (const i of batch) max = Math.max(max, lengths[i]);
  return max;
}
