/** What the grid produces: one result per training, one cell per (combination, fusion), the report. */
import type { Combination, CombinationMode } from './combinations.js';
import type { GridFeature } from './features.js';
import type { GridFusion, StudyScore } from './published.js';
import type { Spread } from './stats.js';

export type MissingPosterMode = 'drop' | 'mask';

export const GRID_METRICS = ['labelwiseAccuracy', 'rocAucMacro', 'f1Micro', 'f1Macro'] as const;
export type GridMetric = (typeof GRID_METRICS)[number];
export type GridScores = Record<GridMetric, number>;

export interface Sizes {
  train: number;
  dev: number;
  test: number;
}

/** One training of the grid. */
export interface GridRunResult {
  name: string;
  cell: string;
  combination: Combination;
  fusion: GridFusion | null;
  seed: number;
  dir: string;
  /** 'reused': finished by an earlier call with the same config (resumed grid). */
  status: 'done' | 'reused' | 'failed';
  error?: string;
  sizes?: Sizes;
  bestEpoch?: number;
  epochsRun?: number;
  trainSeconds?: number;
  /** Test split at threshold 0.5. */
  test?: GridScores;
}

/** A row of the table: one combination with one fusion (a single input: fusion null), over seeds. */
export interface GridCell {
  key: string;
  combination: Combination;
  label: string;
  fusion: GridFusion | null;
  seeds: number[];
  failed: number;
  sizes?: Sizes;
  /** Mean, sample std (n − 1), min and max over seeds of each test metric. */
  metrics: Partial<Record<GridMetric, Spread>>;
  /** Label-wise accuracy of predicting no genre at all on this cell's test movies. */
  allNegativeAccuracy?: number;
  /** The study's published numbers for this row, when it has them. */
  study?: StudyScore;
}

export interface GridComparison {
  kind: 'vs-best' | 'fusion';
  a: string;
  b: string;
  /** Test movies both were scored on. */
  n: number;
  /** Macro ROC-AUC of the seed-averaged predictions: A, B, A − B with its 95% paired-bootstrap interval. */
  auc: { a: number; b: number; diff: number; low: number; high: number; pValue: number };
  /** Macro F1 at 0.5 of the seed-averaged predictions, same test. */
  f1Macro: { a: number; b: number; diff: number; low: number; high: number; pValue: number };
  /** Seeds (paired by seed number) whose own macro-AUC difference has the sign of `auc.diff`. */
  seedsAgree: number;
  seeds: number;
  /** The AUC interval excludes 0 and every seed agrees on the sign. */
  beyondNoise: boolean;
}

export interface GridFeatureReport {
  feature: GridFeature;
  encoder: string;
  rows: number;
  missing: number;
  computedRows: number;
  seconds: number;
  cacheDir: string;
}

export interface GridReport {
  format: 'mmgenre-grid/1';
  createdAt: string;
  dataset: { path: string; name: string; format: string; records: number; labels: string[] };
  settings: {
    features: GridFeature[];
    fusions: GridFusion[];
    seeds: number[];
    combinations: CombinationMode;
    missingPoster: MissingPosterMode;
    workers: number;
    epochs: number;
    patience: number;
    bootstrapResamples: number;
  };
  /** How the ± in the tables is computed. */
  spread: string;
  studySource: string;
  features: GridFeatureReport[];
  cells: GridCell[];
  runs: GridRunResult[];
  comparisons: GridComparison[];
  analysis: string[];
  timings: { loadSeconds: number; featureSeconds: number; trainSeconds: number; totalSeconds: number };
  out: string;
}
