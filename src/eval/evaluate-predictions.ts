/**
 * Evaluates a predictions file against a dataset split: lines the predictions up with the
 * movies by id, counting (never silently dropping) ids on either side without a partner.
 */
import type { Dataset, MovieRecord, SplitName } from '../data/types.js';
import { multiHot } from '../data/genres.js';
import { readPredictions, type PredictionRow, type PredictionsError } from './predictions.js';
import { buildRunEval, type RunEvalFile } from './run-eval.js';
import { readThresholds } from './thresholds.js';

export interface AlignedPredictions {
  ids: string[];
  yTrue: Uint8Array[];
  yProb: Float64Array[];
  /** Movies of the split with no prediction. */
  missingPredictions: string[];
  /** Predicted ids that are not movies of the split. */
  unknownIds: string[];
}

/** Pairs prediction rows with records (in the records' order) over `labels`. */
export function alignPredictions(
  rows: readonly PredictionRow[],
  records: readonly Pick<MovieRecord, 'id' | 'genres'>[],
  labels: readonly string[],
): AlignedPredictions {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const recordIds = new Set(records.map((r) => r.id));
  const out: AlignedPredictions = { ids: [], yTrue: [], yProb: [], missingPredictions: [], unknownIds: [] };
  for (const rec of records) {
    const row = byId.get(rec.id);
    if (!row) {
      out.missingPredictions.push(rec.id);
      continue;
    }
    out.ids.push(rec.id);
    out.yTrue.push(multiHot(rec.genres, labels));
    out.yProb.push(Float64Array.from(labels, (l) => row.scores[l]));
  }
  for (const r of rows) if (!recordIds.has(r.id)) out.unknownIds.push(r.id);
  return out;
}

export interface EvaluatePredictionsOptions {
  split?: SplitName | 'all';
  /** 0.5 by default; a number reports that threshold beside 0.5. */
  threshold?: number;
  /** A thresholds.json whose per-genre thresholds are reported beside 0.5. */
  thresholdsFile?: string;
  bootstrap?: number;
  seed?: number;
}

/** The eval report: RunEvalFile plus what was left out and why. */
export interface PredictionsEvalReport extends RunEvalFile {
  predictions: string;
  coverage: {
    predictionRows: number;
    evaluated: number;
    splitSize: number;
    /** Bad lines of the predictions file (each names its line). */
    fileErrors: PredictionsError[];
    missingPredictions: string[];
    unknownIds: string[];
  };
}

export function evaluatePredictionsFile(
  predictionsPath: string,
  dataset: Dataset,
  opts: EvaluatePredictionsOptions = {},
): PredictionsEvalReport {
  const split = opts.split ?? 'test';
  const labels = dataset.labels;
  const file = readPredictions(predictionsPath, labels);
  const records =
    split === 'all'
      ? dataset.records
      : (() => {
          const byId = new Map(dataset.records.map((r) => [r.id, r]));
          return dataset.splits[split]
            .map((id) => byId.get(id))
            .filter((r): r is MovieRecord => r !== undefined);
        })();
  const aligned = alignPredictions(file.rows, records, labels);
  const tuned = opts.thresholdsFile ? readThresholds(opts.thresholdsFile, labels) : undefined;
  const run = buildRunEval({
    yTrue: aligned.yTrue,
    yProb: aligned.yProb,
    labels,
    tunedThresholds: tuned?.thresholds,
    tunedOn: tuned?.tunedOn,
    fixedThreshold: opts.threshold,
    bootstrap: opts.bootstrap,
    seed: opts.seed,
    dataset: dataset.root,
    split,
  });
  return {
    ...run,
    predictions: predictionsPath,
    coverage: {
      predictionRows: file.rows.length,
      evaluated: aligned.ids.length,
      splitSize: records.length,
      fileErrors: file.errors,
      missingPredictions: aligned.missingPredictions,
      unknownIds: aligned.unknownIds,
    },
  };
}
