/** What run-all returns and writes (summary.json): one entry per run, the per-config spread and the comparisons. */
import type { CompareReport } from '../eval/compare.js';
import type { PaperRowComparison } from './paper-rows.js';

export interface RemovedScores {
  /** Test macro/micro F1 at 0.5 and with the run's tuned thresholds. */
  full: { at05: F1Pair; tuned: F1Pair };
  noPoster: { at05: F1Pair; tuned: F1Pair };
  noPlot: { at05: F1Pair; tuned: F1Pair };
}

export interface F1Pair {
  macro: number;
  micro: number;
}

export interface RunAllEntry {
  config: string;
  seed: number;
  dir: string;
  kind: 'unimodal' | 'multimodal';
  ok: boolean;
  error?: string;
  test?: { at05: F1Pair; tuned: F1Pair };
  bestDevMacroF1?: number;
  removed?: RemovedScores;
}

export interface RunAllSummary {
  data: string;
  out: string;
  seeds: number;
  entries: RunAllEntry[];
  compare: CompareReport;
  /** Mean and spread over seeds of the test macro-F1 at 0.5 per config (and dev, as selected on). */
  byConfig: Array<{
    config: string;
    kind: string;
    n: number;
    mean: number;
    sd: number;
    tunedMean: number;
    devMean: number;
    /** The seeds' runs averaged (probabilities), when there are several: macro-F1 on dev and test. */
    ensemble?: SeedEnsemble;
  }>;
  /** Each GMU config against every other config, paired on the test movies (see `pairedAgainst`). */
  paired?: PairedComparison[];
  /** Runs of configs that mirror a row of the paper's Table 2, beside that row (first seed). */
  paper?: PaperRowComparison[];
}

/** Test macro-F1 at 0.5 of config `a` minus that of `b` (seed ensembles), with a paired bootstrap. */
export interface PairedComparison {
  a: string;
  b: string;
  runs: number;
  aMacro: number;
  bMacro: number;
  difference: number;
  low: number;
  high: number;
  pValue: number;
  /** Per seed (several seeds): a's test macro-F1 @0.5 minus b's, run against run of the same seed. */
  perSeed?: number[];
}

export interface SeedEnsemble {
  runs: number;
  dev: { at05: number };
  test: { at05: number; tuned: number };
}
