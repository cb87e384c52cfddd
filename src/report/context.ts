/**
 * The report's inputs, read and evaluated once: runs, their datasets, test predictions lined
 * up with the true labels, and each run's test evaluation (at 0.5 and tuned, with bootstrap
 * intervals). Every section renders from this.
 */
import type { Dataset } from '../data/types.js';
import { buildRunEval, RUN_EVAL_FORMAT, runEvalFromTrainerEval, type RunEvalFile } from '../eval/run-eval.js';
import { alignTestSet, loadReportRun, loadRunDatasets, type ReportRun, type RunTestSet } from './run-data.js';

export interface ReportOptions {
  /** Dataset directory for the true labels, posters and plots (default: each run's own data path). */
  data?: string;
  /** Bootstrap resamples for the F1 intervals (default 1000; 0 for none). */
  bootstrap?: number;
  seed?: number;
  /** Right and wrong examples shown per run (default 6 each). */
  examples?: number;
  /** Page title. */
  title?: string;
  /** Called as each stage starts (the CLI prints it to stderr). */
  onStage?(stage: string): void;
}

/** A run's test evaluation and where it came from. */
export interface RunEvaluation {
  file: RunEvalFile;
  /** 'predictions': recomputed from predictions-test.jsonl and the data; 'eval.json': read from the run. */
  source: 'predictions' | 'eval.json';
}

export interface ReportContext {
  runs: ReportRun[];
  datasets: Array<Dataset | undefined>;
  testSets: Array<RunTestSet | undefined>;
  evaluations: Array<RunEvaluation | undefined>;
  /** Report-wide notes (a dataset that could not be loaded…). */
  notes: string[];
  options: Required<Omit<ReportOptions, 'data' | 'onStage' | 'title'>> &
    Pick<ReportOptions, 'data' | 'title'>;
}

function uniqueNames(runs: ReportRun[]): void {
  const seen = new Map<string, number>();
  for (const r of runs) {
    const k = (seen.get(r.name) ?? 0) + 1;
    seen.set(r.name, k);
    if (k > 1) r.name = `${r.name} (${k})`;
  }
}

/** The test evaluation from a run's eval.json, in either format the project writes. */
export function evaluationFromEvalJson(json: Record<string, unknown> | undefined): RunEvalFile | undefined {
  if (!json) return undefined;
  if (json.format === RUN_EVAL_FORMAT && Array.isArray(json.variants)) return json as unknown as RunEvalFile;
  return runEvalFromTrainerEval(json);
}

export async function buildReportContext(
  runDirs: string[],
  opts: ReportOptions = {},
): Promise<ReportContext> {
  if (runDirs.length === 0) throw new Error('no run directories given');
  const options = {
    bootstrap: opts.bootstrap ?? 1000,
    seed: opts.seed ?? 42,
    examples: opts.examples ?? 6,
    data: opts.data,
    title: opts.title,
  };
  opts.onStage?.('reading runs');
  const runs = runDirs.map(loadReportRun);
  uniqueNames(runs);
  opts.onStage?.('loading datasets');
  const { byRun: datasets, notes } = await loadRunDatasets(runs, opts.data);
  const testSets = runs.map((run, k) => {
    const ds = datasets[k];
    if (!ds || run.testPredictions.length === 0) return undefined;
    const t = alignTestSet(run, ds);
    if (t.ids.length === 0) {
      notes.push(
        `${run.name}: none of its ${run.testPredictions.length} test predictions is a test movie of ${ds.name}`,
      );
      return undefined;
    }
    if (t.missingPredictions > 0)
      notes.push(`${run.name}: ${t.missingPredictions} test movies have no prediction`);
    if (t.unknownIds > 0)
      notes.push(`${run.name}: ${t.unknownIds} predicted ids are not test movies of ${ds.name}`);
    return t;
  });
  opts.onStage?.(`evaluating (bootstrap ${options.bootstrap} resamples)`);
  const evaluations = runs.map((run, k): RunEvaluation | undefined => {
    const t = testSets[k];
    if (t) {
      const file = buildRunEval({
        yTrue: t.yTrue,
        yProb: t.yProb,
        labels: run.labels,
        tunedThresholds: run.thresholds,
        tunedOn: 'dev',
        bootstrap: options.bootstrap,
        seed: options.seed,
        model: run.name,
        dataset: datasets[k]?.name,
        split: 'test',
      });
      return { file, source: 'predictions' };
    }
    const file = evaluationFromEvalJson(run.evalJson);
    return file ? { file, source: 'eval.json' } : undefined;
  });
  return { runs, datasets, testSets, evaluations, notes, options };
}
