/**
 * The unit of batch prediction: a shard of movies in, one prediction row per movie with a usable
 * input out (plus why the others have none). Runs wherever the predictor is loaded: in this
 * process, or in a queue worker (src/queue) that loaded the model once for many shards.
 */
import type { MovieRecord } from '../data/types.js';
import type { PredictionRow } from '../eval/predictions.js';
import { encodeIsolating } from '../features/compute.js';
import type { InputRows } from './forward.js';
import type { Predictor } from './predictor.js';
import { emptyRows, pickRows, setRow } from './scorer.js';
import type { MissingInput } from './types.js';

export interface SkippedMovie {
  id: string;
  missing: MissingInput[];
}

export interface ShardPrediction {
  /** One row per movie with at least one usable input, in the shard's order. */
  rows: PredictionRow[];
  /** Movies with no usable input, each with its reasons. */
  skipped: SkippedMovie[];
  /** Per model input: movies of the shard for which it was missing. */
  missingByInput: Record<string, number>;
}

const FORWARD_BATCH = 512;
/** Records per encoder call: the feature cache's default, so rows come out as the cache has them. */
export const SHARD_ENCODE_BATCH = 16;

/**
 * The forward batches: with a sequence input, rows sorted by length as the trainer's inference
 * batches are (little recurrence spent on padding); otherwise in order.
 */
function forwardBatches(predictor: Predictor, x: InputRows[], good: number[]): number[][] {
  const k = predictor.inputs.findIndex((i) => i.kind === 'sequence');
  const order = [...good];
  if (k >= 0) {
    const seq = x[k] as Int32Array[];
    order.sort((a, b) => seq[a].length - seq[b].length || a - b);
  }
  const batches: number[][] = [];
  for (let start = 0; start < order.length; start += FORWARD_BATCH)
    batches.push(order.slice(start, start + FORWARD_BATCH));
  return batches;
}

/** Prediction rows for the encoded movies with at least one usable input (in record order). */
export function scoreRows(
  predictor: Predictor,
  records: readonly MovieRecord[],
  x: InputRows[],
  missing: Uint8Array[],
): { rows: PredictionRow[]; usable: boolean[] } {
  const usable = records.map((_, r) => missing.some((m) => !m[r]));
  const L = predictor.labels.length;
  const good = usable.flatMap((ok, r) => (ok ? [r] : []));
  const byRow = new Map<number, PredictionRow>();
  for (const batch of forwardBatches(predictor, x, good)) {
    const result = predictor.predictFeatures(
      x.map((m, k) => pickRows(m, predictor.inputs[k].dim, batch)),
      missing.map((m) => Uint8Array.from(batch, (r) => m[r])),
      batch.length,
    );
    batch.forEach((r, j) => {
      const scores: Record<string, number> = {};
      predictor.labels.forEach((l, c) => (scores[l] = result.probs[j * L + c]));
      const row: PredictionRow = { id: records[r].id, scores };
      // The report reads a GMU's gate from here (the poster's share, mean z over the units).
      if (result.shares) row.gate = predictor.gateField(result.shares, j);
      byRow.set(r, row);
    });
  }
  return { rows: good.map((r) => byRow.get(r)!), usable };
}

/** Encode a shard's movies with the predictor's encoders and predict them. */
export async function predictShard(predictor: Predictor, records: MovieRecord[]): Promise<ShardPrediction> {
  const n = records.length;
  const x = predictor.inputs.map((i) => emptyRows(i, n));
  const missing = predictor.inputs.map(() => new Uint8Array(n));
  const reasons: MissingInput[][] = records.map(() => []);
  for (let k = 0; k < predictor.inputs.length; k++) {
    const info = predictor.inputs[k];
    const encoded = await encodeIsolating(
      (b) => predictor.encoders[k].encode(b),
      records,
      SHARD_ENCODE_BATCH,
    );
    encoded.forEach((v, r) => {
      const bad =
        'error' in v
          ? v.error
          : v instanceof Float32Array && !v.every(Number.isFinite)
            ? 'the encoder produced a non-finite value'
            : null;
      if (bad === null) setRow(x[k], info.dim, r, v as Float32Array | Int32Array);
      else {
        missing[k][r] = 1;
        reasons[r].push({ input: info.id, reason: bad });
      }
    });
  }
  const { rows, usable } = scoreRows(predictor, records, x, missing);
  const missingByInput: Record<string, number> = {};
  predictor.inputs.forEach((i, k) => (missingByInput[i.id] = missing[k].reduce((a, b) => a + b, 0)));
  return {
    rows,
    skipped: records.flatMap((r, i) => (usable[i] ? [] : [{ id: r.id, missing: reasons[i] }])),
    missingByInput,
  };
}
