/**
 * The paper's Table 2 beside our runs of the configs that mirror its rows (configs/paper-*.yaml):
 * our four F1s at the paper's threshold (0.5) with 95% bootstrap intervals over the test movies,
 * the paper's four, and whether the two are like for like (the same inputs on the same test set).
 */
import { join } from 'node:path';
import type { Dataset } from '../data/types.js';
import { multiHot } from '../data/genres.js';
import { bootstrapF1 } from '../eval/bootstrap.js';
import { renderTable } from '../eval/text-tables.js';
import { readPredictions } from '../eval/predictions.js';
import { PUBLISHED_RESULTS, type PublishedMetric } from '../eval/published.js';
import { MMIMDB_TEST_SIZE } from '../eval/compare.js';
import { RUN_FILES } from '../runs/run.js';

/** Shipped config → the Table 2 row it mirrors, and what still differs from the paper's model. */
export const PAPER_CONFIG_ROWS: Record<string, { row: string; differs: string }> = {
  'paper-text-maxout-w2v': { row: 'arevalo2017/text-maxoutmlp-w2v', differs: 'sizes ours, no max-norm' },
  'paper-text-rnn': { row: 'arevalo2017/text-rnn-end2end', differs: 'GRU sizes ours' },
  'paper-visual-vgg': { row: 'arevalo2017/visual-vgg-transfer', differs: 'sizes ours, no max-norm' },
  'paper-gmu': { row: 'arevalo2017/mm-gmu', differs: 'classifier sizes ours, no max-norm' },
  'paper-concat': { row: 'arevalo2017/mm-concatenate', differs: 'sizes ours, no max-norm' },
  'paper-sum': { row: 'arevalo2017/mm-linear-sum', differs: 'sizes ours, no max-norm' },
  'paper-moe': { row: 'arevalo2017/mm-moe-maxout', differs: 'experts are ReLU layers, not maxout' },
};

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

export interface PaperRowComparison {
  config: string;
  paperRow: string;
  paperModel: string;
  /** Our test F1 at 0.5 (weighted, samples, micro, macro) with 95% bootstrap intervals. */
  ours: Record<PublishedMetric, Interval>;
  paper: Record<PublishedMetric, number | null>;
  testMovies: number;
  /** Same inputs (the HDF5 file's own features) and the official 7,799-movie test split. */
  likeForLike: boolean;
  /** Why not like for like, or what still differs from the paper's model. */
  note: string;
}

const METRICS: PublishedMetric[] = ['f1Weighted', 'f1Samples', 'f1Micro', 'f1Macro'];
const AVERAGE: Record<PublishedMetric, 'weighted' | 'samples' | 'micro' | 'macro'> = {
  f1Weighted: 'weighted',
  f1Samples: 'samples',
  f1Micro: 'micro',
  f1Macro: 'macro',
};

/** The comparison for one finished run of a paper config (null for a config that mirrors no row). */
export function paperRowComparison(config: string, dir: string, dataset: Dataset): PaperRowComparison | null {
  const map = PAPER_CONFIG_ROWS[config];
  const published = map && PUBLISHED_RESULTS.find((r) => r.id === map.row);
  if (!map || !published) return null;
  const preds = readPredictions(join(dir, RUN_FILES.predictionsTest), dataset.labels);
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  const rows = preds.rows.filter((r) => byId.has(r.id));
  const yTrue = rows.map((r) => multiHot(byId.get(r.id)!.genres, dataset.labels));
  const yProb = rows.map((r) => dataset.labels.map((l) => r.scores[l]));
  const boot = bootstrapF1(yTrue, yProb, { threshold: 0.5, resamples: 1000, seed: 42 });
  const ours = {} as Record<PublishedMetric, Interval>;
  const paper = {} as Record<PublishedMetric, number | null>;
  for (const m of METRICS) {
    ours[m] = boot.f1[AVERAGE[m]];
    paper[m] = published.metrics[m]?.value ?? null;
  }
  const fromFile = dataset.format === 'mmimdb-hdf5';
  const officialTest = rows.length === MMIMDB_TEST_SIZE;
  const likeForLike = fromFile && officialTest;
  const why = [
    ...(fromFile ? [] : ["not the paper's HDF5 file"]),
    ...(officialTest ? [] : [`test has ${rows.length} movies, not the paper's ${MMIMDB_TEST_SIZE}`]),
  ];
  return {
    config,
    paperRow: published.id,
    paperModel: published.model,
    ours,
    paper,
    testMovies: rows.length,
    likeForLike,
    note: likeForLike ? `same inputs and test split; ${map.differs}` : why.join('; '),
  };
}

const f3 = (x: number | null): string => (x === null ? '—' : x.toFixed(3));

/** Our F1s (with intervals) beside the paper's Table 2, one pair of lines per config. */
export function formatPaperTable(rows: PaperRowComparison[]): string {
  const head = ['config', 'source', 'weighted', 'samples', 'micro', 'macro', 'like for like'];
  const body: string[][] = [];
  for (const r of rows) {
    body.push([
      r.config,
      'ours @0.5',
      ...METRICS.map((m) => `${f3(r.ours[m].estimate)} [${f3(r.ours[m].low)}, ${f3(r.ours[m].high)}]`),
      r.likeForLike ? 'yes' : 'no',
    ]);
    body.push(['', `paper: ${r.paperModel}`, ...METRICS.map((m) => f3(r.paper[m])), r.note]);
  }
  return [
    "The paper's Table 2 (Arevalo et al. 2017) beside our runs of the same models: test F1 at 0.5, 95% bootstrap intervals over the test movies (1,000 resamples)",
    renderTable(
      head,
      body,
      head.map((_, k) => k >= 2 && k <= 5),
    ),
  ].join('\n');
}
