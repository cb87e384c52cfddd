/**
 * Mini-batches for the trainer: which rows go together, and the tensors of one batch. Dense
 * inputs are gathered row by row; token sequences are padded to the batch's own longest
 * sequence, and an epoch groups sequences of similar length (length bucketing) so that
 * little recurrence is spent on padding.
 */
import { tf } from '../engine/index.js';
import type { SeededRandom } from '../util/random.js';
import type { SplitData } from './data.js';

/** Rows per pool that is sorted by length before being cut into batches (torchtext's BucketIterator). */
const POOL_BATCHES = 50;

/** Lengths of a split's first sequence input (null when it has none). */
export function sequenceLengths(split: SplitData): Int32Array | null {
  const seq = split.seq?.find((s) => s !== undefined);
  return seq ? Int32Array.from(seq, (s) => s.length) : null;
}

/**
 * One epoch's batches as row indices of a split whose rows are already shuffled. Without
 * sequence inputs: consecutive slices. With them: the rows are cut into pools of 50 batches,
 * each pool sorted by length and cut into batches, and the batch order shuffled with `rng`,
 * so batches differ every epoch yet hold sequences of similar length.
 */
export function epochBatches(split: SplitData, batchSize: number, rng: SeededRandom): number[][] {
  const lengths = sequenceLengths(split);
  const batches: number[][] = [];
  const rows = Array.from({ length: split.n }, (_, i) => i);
  if (!lengths) {
    for (let start = 0; start < split.n; start += batchSize)
      batches.push(rows.slice(start, start + batchSize));
    return batches;
  }
  const pool = batchSize * POOL_BATCHES;
  for (let start = 0; start < split.n; start += pool) {
    const part = rows.slice(start, start + pool).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let k = 0; k < part.length; k += batchSize) batches.push(part.slice(k, k + batchSize));
  }
  const order = rng.permutation(batches.length);
  return Array.from(order, (k) => batches[k]);
}

/** Batches covering every row once, for inference (sorted by length when there are sequences). */
export function inferenceBatches(split: SplitData, batchSize: number): number[][] {
  const rows = Array.from({ length: split.n }, (_, i) => i);
  const lengths = sequenceLengths(split);
  if (lengths) rows.sort((a, b) => lengths[a] - lengths[b] || a - b);
  const batches: number[][] = [];
  for (let k = 0; k < rows.length; k += batchSize) batches.push(rows.slice(k, k + batchSize));
  return batches;
}

/**
 * The model inputs of a batch, in spec order: dense rows as float32 [B, dim]; sequences as
 * int32 [B, T] right-padded with 0 to the batch's longest sequence (at least 1).
 */
export function batchInputs(split: SplitData, dims: number[], rows: number[]): tf.Tensor[] {
  return split.x.map((x, k) => {
    const seq = split.seq?.[k];
    if (seq) {
      let T = 1;
      for (const r of rows) T = Math.max(T, seq[r].length);
      const ids = new Int32Array(rows.length * T);
      rows.forEach((r, b) => ids.set(seq[r].subarray(0, T), b * T));
      return tf.tensor2d(ids, [rows.length, T], 'int32');
    }
    const d = dims[k];
    const out = new Float32Array(rows.length * d);
    rows.forEach((r, b) => out.set(x.subarray(r * d, (r + 1) * d), b * d));
    return tf.tensor2d(out, [rows.length, d]);
  });
}

/** Multi-hot labels of a batch as float32 [B, L]. */
export function batchLabels(y: Uint8Array, L: number, rows: number[]): tf.Tensor2D {
  const out = new Float32Array(rows.length * L);
  rows.forEach((r, b) => {
    for (let j = 0; j < L; j++) out[b * L + j] = y[r * L + j];
  });
  return tf.tensor2d(out, [rows.length, L]);
}
