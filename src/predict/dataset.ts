/**
 * Predict every movie of a dataset directory (any supported layout, not only the one the run was
 * trained on) into the predictions JSON Lines file the evaluation reads. Features come from the
 * feature cache (computed there when missing, so a second call is fast) or, with `cache: false`,
 * straight from the predictor's encoders.
 */
import { loadDataset } from '../data/load.js';
import { SPLITS, type Dataset, type MovieRecord, type SplitName } from '../data/types.js';
import { writePredictions } from '../eval/predictions.js';
import { extractFeatureSet, extractFeatures, extractSequences } from '../features/extract.js';
import type { FeatureMatrix, SequenceFeatures } from '../features/types.js';
import { progress } from '../util/progress.js';
import type { InputRows } from './forward.js';
import { loadPredictor, type Predictor } from './predictor.js';
import { emptyRows, setRow } from './scorer.js';
import { scoreRows, type SkippedMovie } from './shard.js';
import type { MissingInput } from './types.js';

export interface PredictDatasetOptions {
  /** Which movies: one split, or 'all' (default 'test'; 'all' when the dataset has no test movie). */
  split?: SplitName | 'all';
  /** The predictions JSON Lines file to write (atomically). */
  out: string;
  /** Read/write features through the feature cache (default true). */
  cache?: boolean;
  cacheDir?: string;
  /** Worker threads for feature extraction (default: the cache's default). */
  workers?: number;
  /** Progress bars on stderr (default true; MMGENRE_QUIET=1 silences them). */
  progress?: boolean;
  /** Reuse a loaded predictor of the same run. */
  predictor?: Predictor;
}

export interface PredictDatasetResult {
  out: string;
  split: SplitName | 'all';
  dataset: { name: string; root: string; format: string };
  /** Movies written to `out`. */
  rows: number;
  /** Movies with no usable input (not written; each with its reasons). */
  skipped: SkippedMovie[];
  /** Per model input: movies of the split for which it was missing. */
  missingByInput: Record<string, number>;
  /** Per model input: which movies those were (id and title, in split order). */
  missingMovies?: Record<string, Array<{ id: string; title: string | null }>>;
  seconds: number;
}

const ENCODE_BATCH = 32;

export function splitRecords(dataset: Dataset, split: SplitName | 'all'): MovieRecord[] {
  if (split === 'all') return dataset.records;
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  return dataset.splits[split].flatMap((id) => byId.get(id) ?? []);
}

/** Rows of `records` for each model input (features, or token sequences) plus missing flags. */
async function featuresFor(
  predictor: Predictor,
  dataset: Dataset,
  records: MovieRecord[],
  opts: PredictDatasetOptions,
): Promise<{ x: InputRows[]; missing: Uint8Array[] }> {
  const n = records.length;
  const x = predictor.inputs.map((i) => emptyRows(i, n));
  const missing = predictor.inputs.map(() => new Uint8Array(n));
  if (opts.cache !== false) {
    // All dense inputs in one call first: two layers of one network then run it once per poster.
    const dense = predictor.inputs
      .filter((i) => i.kind !== 'sequence')
      .map((i) => ({ name: i.source.encoder, options: i.source.options }));
    if (dense.length > 1)
      await extractFeatureSet(dataset, dense, {
        cacheDir: opts.cacheDir,
        workers: opts.workers,
        progress: opts.progress !== false,
      });
  }
  for (let k = 0; k < predictor.inputs.length; k++) {
    const info = predictor.inputs[k];
    if (opts.cache !== false) {
      const encoder = { name: info.source.encoder, options: info.source.options };
      const cacheOpts = { cacheDir: opts.cacheDir, workers: opts.workers, progress: opts.progress !== false };
      const m: FeatureMatrix | SequenceFeatures =
        info.kind === 'sequence'
          ? await extractSequences(dataset, { ...cacheOpts, encoder })
          : await extractFeatures(dataset, encoder, cacheOpts);
      const index = new Map(m.ids.map((id, i) => [id, i]));
      records.forEach((r, row) => {
        const i = index.get(r.id);
        if (i === undefined || m.missing[i]) missing[k][row] = 1;
        else if ('sequences' in m) setRow(x[k], info.dim, row, m.sequences[i]);
        else setRow(x[k], info.dim, row, m.data.subarray(i * m.dim, (i + 1) * m.dim));
      });
      continue;
    }
    const bar = progress(`encode ${info.id} (${info.encoder})`, n, {
      unit: 'movies',
      silent: opts.progress === false,
    });
    for (let start = 0; start < n; start += ENCODE_BATCH) {
      const batch = records.slice(start, start + ENCODE_BATCH);
      const encoded = await predictor.encoders[k].encode(batch);
      encoded.forEach((v, j) => {
        if (v instanceof Float32Array || v instanceof Int32Array) setRow(x[k], info.dim, start + j, v);
        else missing[k][start + j] = 1;
      });
      bar.tick(batch.length);
    }
    bar.stop();
  }
  return { x, missing };
}

/** Why each of these movies has no usable input (re-encoded one by one: there are few). */
async function reasonsFor(predictor: Predictor, records: MovieRecord[]): Promise<SkippedMovie[]> {
  const out: SkippedMovie[] = [];
  for (const r of records) {
    const missing: MissingInput[] = [];
    for (let k = 0; k < predictor.inputs.length; k++) {
      const [v] = await predictor.encoders[k].encode([r]);
      missing.push({
        input: predictor.inputs[k].id,
        reason: 'error' in v ? v.error : 'missing in the feature cache',
      });
    }
    out.push({ id: r.id, missing });
  }
  return out;
}

/** Predict a dataset's movies with a run and write the predictions JSON Lines file. */
export async function predictDataset(
  runDir: string,
  datasetDir: string,
  opts: PredictDatasetOptions,
): Promise<PredictDatasetResult> {
  const t0 = performance.now();
  const predictor = opts.predictor ?? (await loadPredictor(runDir));
  try {
    const dataset = await loadDataset(datasetDir, { progress: opts.progress !== false });
    let split: SplitName | 'all' = opts.split ?? 'test';
    if (split !== 'all' && !SPLITS.includes(split)) {
      throw new Error(`unknown split '${String(split)}': use ${SPLITS.join(', ')} or all`);
    }
    if (opts.split === undefined && dataset.splits.test.length === 0) split = 'all';
    const records = splitRecords(dataset, split);
    if (records.length === 0) {
      throw new Error(`${dataset.root}: the ${split} split has no movie to predict`);
    }
    const { x, missing } = await featuresFor(predictor, dataset, records, opts);
    const { rows, usable } = scoreRows(predictor, records, x, missing);
    writePredictions(opts.out, rows);
    const skipped = await reasonsFor(
      predictor,
      records.filter((_, r) => !usable[r]),
    );
    const missingByInput: Record<string, number> = {};
    predictor.inputs.forEach((i, k) => (missingByInput[i.id] = missing[k].reduce((a, b) => a + b, 0)));
    const missingMovies: NonNullable<PredictDatasetResult['missingMovies']> = {};
    predictor.inputs.forEach((i, k) => {
      missingMovies[i.id] = records
        .filter((_, r) => missing[k][r])
        .map((rec) => ({ id: rec.id, title: rec.title ?? null }));
    });
    return {
      out: opts.out,
      split,
      dataset: { name: dataset.name, root: dataset.root, format: dataset.format },
      rows: rows.length,
      skipped,
      missingByInput,
      missingMovies,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    if (!opts.predictor) predictor.dispose();
  }
}
