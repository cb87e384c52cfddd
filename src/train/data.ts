/**
 * Training data as the trainer wants it: per split, one row-major Float32Array per model
 * input (in spec order) and a multi-hot label matrix. Built from a dataset and its cached
 * feature matrices, or directly (tests, benchmarks) from arrays.
 */
import { multiHot } from '../data/genres.js';
import type { Dataset, SplitName } from '../data/types.js';
import type { FeatureMatrix, SequenceFeatures } from '../features/types.js';
import { applyNormalizer, fitNormalizer, type Normalizer } from '../features/normalize.js';

export interface SplitData {
  ids: string[];
  n: number;
  /** One matrix per model input, row-major n × dim. */
  x: Float32Array[];
  /** Multi-hot labels, row-major n × L. */
  y: Uint8Array;
  /** Per input, 1 where that input was missing for the movie (its row holds the train mean). */
  missing: Uint8Array[];
  /**
   * Per input, the token-id sequences (variable length, not padded) of a sequence input;
   * undefined for dense inputs. A sequence input's `x` entry is empty.
   */
  seq?: Array<Int32Array[] | undefined>;
}

export interface TrainingData {
  labels: string[];
  /** Feature size of each input, in spec order (a sequence input: its longest sequence). */
  dims: number[];
  train: SplitData;
  dev: SplitData;
  test?: SplitData;
}

export interface AssembleInput {
  id: string;
  /** Dense cached features, or token-id sequences for a recurrent model. */
  features: FeatureMatrix | SequenceFeatures;
  normalize: Normalizer['kind'];
  /**
   * Other views of the same input for training only (e.g. the mirrored poster): each view adds
   * one more copy of every training movie, with this input read from the view.
   */
  trainViews?: FeatureMatrix[];
}

const isSequences = (f: FeatureMatrix | SequenceFeatures): f is SequenceFeatures => 'sequences' in f;

/** Sequences of `s` for `ids` (empty + missing flag for ids it lacks). */
function gatherSequences(s: SequenceFeatures, ids: string[]): { seq: Int32Array[]; missing: Uint8Array } {
  const index = new Map(s.ids.map((id, i) => [id, i]));
  const missing = new Uint8Array(ids.length);
  const seq = ids.map((id, r) => {
    const i = index.get(id);
    if (i === undefined || s.missing[i]) {
      missing[r] = 1;
      return new Int32Array(0);
    }
    return s.sequences[i];
  });
  return { seq, missing };
}

export interface AssembleResult {
  data: TrainingData;
  normalizers: Normalizer[];
  /** Training movies left out because every input was missing. */
  droppedTrain: string[];
}

/** Rows of `m` for `ids` (zeros + missing flag for ids the matrix lacks). */
function gather(m: FeatureMatrix, ids: string[]): { x: Float32Array; missing: Uint8Array } {
  const index = new Map(m.ids.map((id, i) => [id, i]));
  const x = new Float32Array(ids.length * m.dim);
  const missing = new Uint8Array(ids.length);
  ids.forEach((id, r) => {
    const i = index.get(id);
    if (i === undefined || m.missing[i]) {
      missing[r] = 1;
      return;
    }
    x.set(m.data.subarray(i * m.dim, (i + 1) * m.dim), r * m.dim);
  });
  return { x, missing };
}

/**
 * Line a dataset's splits up with its feature matrices. Training movies with every input
 * missing are dropped (nothing to learn from); dev and test keep every movie so that scores
 * are over the whole split (a missing input reads as the train mean).
 */
export function assembleTrainingData(dataset: Dataset, inputs: AssembleInput[]): AssembleResult {
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  const labels = dataset.labels;
  const L = labels.length;
  const dims = inputs.map((i) => {
    const f = i.features;
    return isSequences(f) ? Math.max(1, ...f.sequences.map((q) => q.length)) : f.dim;
  });
  const gatherInput = (
    f: FeatureMatrix | SequenceFeatures,
    ids: string[],
  ): { x: Float32Array; missing: Uint8Array; seq?: Int32Array[] } =>
    isSequences(f) ? { x: new Float32Array(0), ...gatherSequences(f, ids) } : gather(f, ids);
  const splitOf = (name: SplitName, dropAllMissing: boolean): { split: SplitData; dropped: string[] } => {
    let ids = dataset.splits[name].filter((id) => byId.has(id));
    let parts = inputs.map((i) => gatherInput(i.features, ids));
    const dropped: string[] = [];
    if (dropAllMissing) {
      const keep = ids.map((_, r) => parts.some((p) => !p.missing[r]));
      ids.forEach((id, r) => {
        if (!keep[r]) dropped.push(id);
      });
      if (dropped.length > 0) {
        ids = ids.filter((_, r) => keep[r]);
        parts = inputs.map((i) => gatherInput(i.features, ids));
      }
      const views = Math.max(0, ...inputs.map((i) => i.trainViews?.length ?? 0));
      if (views > 0) {
        const base = ids;
        for (let v = 0; v < views; v++) {
          const extra = inputs.map(
            (i): ReturnType<typeof gatherInput> =>
              i.trainViews?.[v] ? gather(i.trainViews[v], base) : gatherInput(i.features, base),
          );
          parts = parts.map((p, k) => ({
            x: concatFloat(p.x, extra[k].x),
            missing: Uint8Array.from([...p.missing, ...extra[k].missing]),
            seq: p.seq ? [...p.seq, ...extra[k].seq!] : undefined,
          }));
          ids = [...ids, ...base];
        }
      }
    }
    const y = new Uint8Array(ids.length * L);
    ids.forEach((id, r) => y.set(multiHot(byId.get(id)!.genres, labels), r * L));
    const hasSeq = parts.some((p) => p.seq);
    return {
      split: {
        ids,
        n: ids.length,
        x: parts.map((p) => p.x),
        y,
        missing: parts.map((p) => p.missing),
        ...(hasSeq ? { seq: parts.map((p) => p.seq) } : {}),
      },
      dropped,
    };
  };
  const train = splitOf('train', true);
  const dev = splitOf('dev', false);
  const test = splitOf('test', false);
  const normalizers = inputs.map((inp, k) =>
    isSequences(inp.features)
      ? ({ kind: 'none' } as Normalizer)
      : fitNormalizer(inp.normalize, train.split.x[k], dims[k], train.split.missing[k]),
  );
  for (const s of [train.split, dev.split, test.split]) {
    normalizers.forEach((norm, k) => {
      if (!s.seq?.[k]) applyNormalizer(norm, s.x[k], dims[k], s.missing[k]);
    });
  }
  return {
    data: { labels: [...labels], dims, train: train.split, dev: dev.split, test: test.split },
    normalizers,
    droppedTrain: train.dropped,
  };
}

function concatFloat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Row views of a flat n × L matrix (what the evaluation functions take). */
export function rowsOf<T extends Float32Array | Uint8Array>(flat: T, n: number, L: number): T[] {
  const rows: T[] = [];
  for (let i = 0; i < n; i++) rows.push(flat.subarray(i * L, (i + 1) * L) as T);
  return rows;
}
