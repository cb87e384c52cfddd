/**
 * Our runs beside the published MM-IMDB results, with every row saying which test set it is on,
 * so a number on a 504-movie sample is never read as a number on the paper's 7,799-movie test split.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Dataset, SplitName } from '../data/types.js';
import { evaluatePredictionsFile } from './evaluate-predictions.js';
import { fmt, renderTable } from './text-tables.js';
import {
  citationOf,
  MMIMDB_TEST_SET,
  PUBLISHED_METRICS,
  PUBLISHED_RESULTS,
  PUBLISHED_SOURCES,
  type PublishedMetric,
} from './published.js';
import { readRunEval, type EvalVariant, type RunEvalFile } from './run-eval.js';

export type { RunEvalFile } from './run-eval.js';

/** Size of the official MM-IMDB test split; a run on anything else is on a different test set. */
export const MMIMDB_TEST_SIZE = 7799;

export interface CompareRow {
  name: string;
  origin: 'ours' | 'published';
  /** Threshold protocol: '0.5', 'tuned (dev)', or as published. */
  protocol: string;
  testSet: string;
  /** False for anything not evaluated on the official MM-IMDB test split. */
  sameTestSetAsPaper: boolean;
  n?: number;
  f1: Record<PublishedMetric, number | null>;
  /** Published rows: the citation, and whether every number in the row was verified. */
  source?: string;
  verified?: boolean;
}

export interface CompareReport {
  ours: CompareRow[];
  published: CompareRow[];
}

function rowFromVariant(name: string, file: RunEvalFile, v: EvalVariant): CompareRow {
  const same = file.split === 'test' && file.n === MMIMDB_TEST_SIZE;
  const m = v.metrics;
  return {
    name,
    origin: 'ours',
    protocol: v.kind === 'tuned' ? `tuned (${v.tunedOn ?? 'dev'})` : String(m.threshold),
    testSet: same
      ? 'MM-IMDB test (7,799 movies)'
      : `${file.dataset ? basename(file.dataset) : 'our data'} / ${file.split ?? '?'} (${file.n} movies)`,
    sameTestSetAsPaper: same,
    n: file.n,
    f1: { f1Weighted: m.f1.weighted, f1Samples: m.f1.samples, f1Micro: m.f1.micro, f1Macro: m.f1.macro },
  };
}

/** Rows for a run's 0.5 and tuned variants (the 0.5 row always first). */
export function rowsFromRunEval(name: string, file: RunEvalFile): CompareRow[] {
  return file.variants.filter((v) => v.kind !== 'fixed').map((v) => rowFromVariant(name, file, v));
}

export function publishedCompareRows(): CompareRow[] {
  return PUBLISHED_RESULTS.map((r) => {
    const f1 = {} as Record<PublishedMetric, number | null>;
    for (const k of PUBLISHED_METRICS) f1[k] = r.metrics[k]?.value ?? null;
    const values = Object.values(r.metrics);
    return {
      name: r.model,
      origin: 'published',
      protocol: 'as published',
      testSet: r.testSet,
      sameTestSetAsPaper: r.testSet === MMIMDB_TEST_SET,
      f1,
      source: citationOf(r),
      verified: values.length > 0 && values.every((v) => v.verified),
    };
  });
}

export interface CompareInputOptions {
  /** Needed for predictions files: the dataset they are evaluated against. */
  dataset?: Dataset;
  split?: SplitName;
}

/**
 * One input of `compare`: a run directory holding eval.json, an eval JSON file, or a
 * predictions file (.jsonl, evaluated against `dataset`).
 */
export function loadCompareInput(
  path: string,
  opts: CompareInputOptions = {},
): { name: string; file: RunEvalFile } {
  if (!existsSync(path)) throw new Error(`no such file or directory: ${path}`);
  if (statSync(path).isDirectory()) {
    const evalPath = join(path, 'eval.json');
    if (!existsSync(evalPath))
      throw new Error(`${path} is a directory without eval.json (not a finished run?)`);
    const file = readRunEval(evalPath);
    file.dataset ??= datasetOfRun(path);
    return { name: basename(path), file };
  }
  if (path.endsWith('.jsonl')) {
    if (!opts.dataset) throw new Error(`${path} is a predictions file: pass --data DIR to evaluate it`);
    return {
      name: basename(path, '.jsonl'),
      file: evaluatePredictionsFile(path, opts.dataset, { split: opts.split }),
    };
  }
  return { name: basename(path, '.json'), file: readRunEval(path) };
}

/** The dataset a training run was trained on (its run.json), when it says. */
function datasetOfRun(dir: string): string | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { data?: { path?: unknown } };
    return typeof info.data?.path === 'string' ? info.data.path : undefined;
  } catch {
    return undefined;
  }
}

export function buildCompareReport(
  inputs: { name: string; file: RunEvalFile }[],
  withPublished: boolean,
): CompareReport {
  return {
    ours: inputs.flatMap((i) => rowsFromRunEval(i.name, i.file)),
    published: withPublished || inputs.length === 0 ? publishedCompareRows() : [],
  };
}

/** The comparison table, our rows first, each marked with its test set; sources listed under it. */
export function formatCompare(report: CompareReport): string {
  const headers = ['', 'model', 'threshold', 'weighted', 'samples', 'micro', 'macro', 'test set'];
  const rows: string[][] = [];
  const mark = (r: CompareRow): string =>
    r.origin === 'published' ? (r.verified ? 'P' : 'P?') : r.sameTestSetAsPaper ? 'O' : 'O≠';
  for (const r of [...report.ours, ...report.published]) {
    rows.push([
      mark(r),
      r.name,
      r.protocol,
      ...[r.f1.f1Weighted, r.f1.f1Samples, r.f1.f1Micro, r.f1.f1Macro].map((v) =>
        // Published values are shown exactly as printed in their paper; ours to 3 decimals like Table 2.
        r.origin === 'published' && v !== null
          ? v.toFixed(Math.max(3, (String(v).split('.')[1] ?? '').length))
          : fmt(v, 3),
      ),
      r.testSet,
    ]);
  }
  const out = [
    "F1 on the test set (weighted / samples / micro / macro, as in the paper's Table 2)",
    renderTable(headers, rows, [false, false, false, true, true, true, true, false]),
  ];
  out.push('');
  out.push('O  = ours, on the MM-IMDB test split: directly comparable with the published rows.');
  if (report.ours.some((r) => !r.sameTestSetAsPaper)) {
    out.push(
      'O≠ = ours, on a DIFFERENT test set (not the 7,799-movie MM-IMDB test split): NOT directly comparable with published rows.',
    );
  }
  if (report.published.length > 0) {
    out.push(
      'P  = published (MM-IMDB test split, 0.5 threshold in the GMU paper); P? = not every number re-checked against the paper; — = not reported or not transcribed.',
    );
    out.push('');
    out.push('Sources:');
    const used = new Set(PUBLISHED_RESULTS.map((r) => r.source));
    for (const key of used) {
      const c = PUBLISHED_SOURCES[key];
      out.push(
        `  [${key}] ${c.authors} (${c.year}). ${c.title}. ${c.venue}.${c.url ? ' ' + c.url : ''}${c.checked ? '' : ' (reference details not checked)'}`,
      );
    }
    out.push('Per-number provenance and verification status: src/eval/published.ts (also in --json output).');
  }
  return out.join('\n');
}
