/**
 * Everything the report reads from a run directory and its dataset, gathered once. Each file is
 * optional: what cannot be read is recorded in `problems` (and the sections that need it say
 * so) instead of failing the whole report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadDataset } from '../data/load.js';
import type { Dataset, MovieRecord } from '../data/types.js';
import { alignPredictions } from '../eval/evaluate-predictions.js';
import { readPredictions, type PredictionRow } from '../eval/predictions.js';
import { readThresholds } from '../eval/thresholds.js';
import { validateSpec, type ModelSpec } from '../models/spec.js';
import { RUN_FILES, type RunInfo } from '../runs/run.js';
import type { EpochMetrics } from '../train/trainer.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

/** One epoch line of metrics.jsonl; `devLoss` and other extra keys are kept when a trainer writes them. */
export type EpochLine = Partial<EpochMetrics> & { epoch: number; devLoss?: number; [k: string]: unknown };

export interface ReportRun {
  dir: string;
  /** Display name: run.json's name, else the folder name (made unique across the report). */
  name: string;
  info?: RunInfo;
  spec?: ModelSpec;
  labels: string[];
  history: EpochLine[];
  /** Tuned per-genre thresholds (thresholds.json), in `labels` order. */
  thresholds?: number[];
  testPredictions: PredictionRow[];
  /** Raw eval.json (either the trainer's {test:{at05,tuned}} or the 'mmgenre-eval/1' format). */
  evalJson?: Record<string, unknown>;
  /** What could not be read, one message each. */
  problems: string[];
}

export class ReportInputError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function readHistory(path: string, problems: string[]): EpochLine[] {
  const out: EpochLine[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, k) => {
      if (line.trim() === '') return;
      try {
        const v = JSON.parse(line) as EpochLine;
        if (typeof v.epoch !== 'number') throw new Error('no "epoch" number');
        out.push(v);
      } catch (err) {
        problems.push(`${RUN_FILES.metrics} line ${k + 1}: ${(err as Error).message}`);
      }
    });
  return out;
}

/** Reads a run directory; throws only when `dir` is not a run at all. */
export function loadReportRun(dir: string): ReportRun {
  const root = resolve(dir);
  const has = (f: string): boolean => existsSync(join(root, f));
  if (!existsSync(root)) throw new ReportInputError(`no such run directory: ${root}`);
  if (!has(RUN_FILES.run) && !has(RUN_FILES.spec) && !has(RUN_FILES.predictionsTest)) {
    throw new ReportInputError(
      `${root} is not an mmgenre run (no run.json, spec.json or predictions-test.jsonl)`,
    );
  }
  const problems: string[] = [];
  const attempt = <T>(file: string, read: (path: string) => T): T | undefined => {
    if (!has(file)) {
      problems.push(`no ${file}`);
      return undefined;
    }
    try {
      return read(join(root, file));
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const info = attempt(RUN_FILES.run, (p) => readJson(p) as RunInfo);
  const spec = attempt(RUN_FILES.spec, (p) => {
    const s = readJson(p) as ModelSpec;
    validateSpec(s);
    return s;
  });
  const history = attempt(RUN_FILES.metrics, (p) => readHistory(p, problems)) ?? [];
  const evalJson = attempt(RUN_FILES.eval, (p) => readJson(p) as Record<string, unknown>);
  let labels = spec?.labels ?? info?.data.labels ?? [];
  const preds = attempt(RUN_FILES.predictionsTest, (p) =>
    readPredictions(p, labels.length > 0 ? labels : undefined),
  );
  if (preds) {
    if (labels.length === 0) labels = preds.labels;
    for (const e of preds.errors.slice(0, 5)) problems.push(`${RUN_FILES.predictionsTest}: ${e.message}`);
    if (preds.errors.length > 5)
      problems.push(`${RUN_FILES.predictionsTest}: ${preds.errors.length - 5} more bad lines`);
  }
  const thresholds = has(RUN_FILES.thresholds)
    ? attempt(RUN_FILES.thresholds, (p) => readThresholds(p, labels).thresholds)
    : undefined;
  return {
    dir: root,
    name: info?.name ?? basename(root),
    info,
    spec,
    labels,
    history,
    thresholds,
    testPredictions: preds?.rows ?? [],
    evalJson,
    problems,
  };
}

/** A run's test predictions lined up with the dataset's test movies. */
export interface RunTestSet {
  ids: string[];
  records: MovieRecord[];
  yTrue: Uint8Array[];
  yProb: Float64Array[];
  /** Test movies with no prediction, and predicted ids that are not test movies. */
  missingPredictions: number;
  unknownIds: number;
}

export function alignTestSet(run: ReportRun, dataset: Dataset): RunTestSet {
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  const records = dataset.splits.test
    .map((id) => byId.get(id))
    .filter((r): r is MovieRecord => r !== undefined);
  const a = alignPredictions(run.testPredictions, records, run.labels);
  const kept = new Set(a.ids);
  return {
    ids: a.ids,
    records: records.filter((r) => kept.has(r.id)),
    yTrue: a.yTrue,
    yProb: a.yProb,
    missingPredictions: a.missingPredictions.length,
    unknownIds: a.unknownIds.length,
  };
}

/**
 * The dataset for each run: `dataDir` when given, else the path in the run's run.json (when it
 * still exists). Datasets are loaded once per path. Runs without one map to undefined.
 */
export async function loadRunDatasets(
  runs: ReportRun[],
  dataDir?: string,
): Promise<{ byRun: Array<Dataset | undefined>; notes: string[] }> {
  const cache = new Map<string, Promise<Dataset>>();
  const notes: string[] = [];
  const byRun: Array<Dataset | undefined> = [];
  for (const run of runs) {
    const path = dataDir ?? run.info?.data.path;
    if (!path || !existsSync(path)) {
      notes.push(
        `${run.name}: no dataset (${path ? `${path} does not exist` : 'run.json names none'}); pass --data DIR for the sections that need the true labels`,
      );
      byRun.push(undefined);
      continue;
    }
    const key = resolve(path);
    if (!cache.has(key)) cache.set(key, loadDataset(key));
    try {
      byRun.push(await cache.get(key)!);
    } catch (err) {
      notes.push(`${run.name}: cannot load dataset ${key}: ${(err as Error).message}`);
      byRun.push(undefined);
    }
  }
  return { byRun, notes };
}
