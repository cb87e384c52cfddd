/**
 * `mmgenre demo`: the whole pipeline on one dataset, end to end — data check, features,
 * the poster models (frozen and fine-tuned), the synopsis GRU (and the GMU and concatenation
 * fusions where their configs ship), evaluation with the paper's metrics, the fine-tuned vs
 * frozen difference with a paired bootstrap interval, and the comparison with the published
 * rows. Without a dataset it synthesises one, so it runs anywhere in a few minutes.
 *
 * Resumable: a finished run is reused, an interrupted one resumed from its checkpoint, the
 * synthetic dataset and the features are resumed by their own modules.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkDataset, formatCheckReport } from '../data/check.js';
import { loadDataset } from '../data/load.js';
import { synthesizeDataset } from '../data/synth.js';
import type { Dataset } from '../data/types.js';
import { MMIMDB_TEST_SIZE, formatCompare, publishedCompareRows, type CompareRow } from '../eval/compare.js';
import { pairedBootstrapF1, type PairedBootstrapResult } from '../eval/bootstrap.js';
import { readPredictions } from '../eval/predictions.js';
import '../models/index.js';
import {
  configToYaml,
  loadConfig,
  shippedConfigNames,
  withOverrides,
  type TrainConfig,
  type TrainingOverrides,
} from '../runs/config.js';
import { extractConfigInputs } from '../train/extract-inputs.js';
import { trainMany, type TrainJob } from '../train/many.js';
import { RUN_FILES, readRunInfo } from '../runs/run.js';
import type { EvalSummary } from '../train/pipeline.js';
import { writeReport } from '../report/report.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { defaultWorkers } from '../util/workers.js';
import { progress as progressBar } from '../util/progress.js';
import { sourceConfigsOf } from '../runs/sources.js';

/** The unimodal configs of the demo, then the fusions it includes when they ship. */
export const DEMO_CONFIGS = ['poster-frozen', 'poster-finetuned', 'text-gru'] as const;
export const DEMO_FUSIONS = ['fusion-gmu', 'fusion-concat'] as const;

export interface DemoOptions {
  /** Dataset directory; without it a synthetic dataset is generated under `out`/data. */
  data?: string;
  /** Everything is written here (default ./demo-output). */
  out?: string;
  /** Small and fast: a tiny synthetic set and a few epochs per model. */
  quick?: boolean;
  /** Synthetic movies (default 600; 150 with quick). */
  synthMovies?: number;
  /** Epoch cap per model (default: the configs' own; 3 with quick). */
  epochs?: number;
  /** Parallel trainings (default: every core). */
  workers?: number;
  seed?: number;
  /** Step lines and progress bars on stderr (default true). */
  log?: (line: string) => void;
  /** Progress bars (features, training) on stderr (default true). */
  progressBars?: boolean;
  signal?: AbortSignal;
}

export interface DemoRow {
  config: string;
  title: string;
  status: 'done' | 'failed';
  error?: string;
  epochs?: number;
  trainSeconds?: number;
  at05?: EvalSummary;
  tuned?: EvalSummary;
}

export interface DemoResult {
  out: string;
  data: string;
  synthetic: boolean;
  rows: DemoRow[];
  /** Fine-tuned minus frozen poster model on the test split (paired bootstrap, at 0.5). */
  finetunedVsFrozen?: PairedBootstrapResult;
  /** The printed report (also in `out`/report.txt). */
  report: string;
  /** The HTML report of the finished runs (absent when none finished). */
  reportHtml?: string;
  /** Commands to try next (predict, serve, report, compare), ready to paste. */
  nextSteps: string[];
  seconds: number;
}

/** Run the demo. */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const t0 = performance.now();
  const out = resolve(opts.out ?? 'demo-output');
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const quick = opts.quick ?? false;
  mkdirSync(out, { recursive: true });
  const shipped = shippedConfigNames();
  const fusions = DEMO_FUSIONS.filter((name) => shipped.includes(name)).map((name) => loadConfig(name));
  // Unimodal runs the fusions build on (their `from: {run}` branches), trained in the first stage.
  const sources = [...new Set(fusions.flatMap((c) => sourceConfigsOf(c)))];
  const unimodal = [...new Set([...DEMO_CONFIGS, ...sources])].map((name) => loadConfig(name));
  const configs = [...unimodal, ...fusions];
  const steps = 5;

  // 1. Data.
  let data = opts.data ? resolve(opts.data) : join(out, 'data');
  const synthetic = !opts.data;
  const synthMovies = opts.synthMovies ?? (quick ? 150 : 600);
  log(estimateLine(synthetic ? synthMovies : null, quick, opts.workers ?? defaultWorkers()));
  if (synthetic) {
    log(`[1/${steps}] data: synthesising ${synthMovies} movies (posters + plots) in ${data}`);
    await synthesizeDataset({ out: data, n: synthMovies, seed: opts.seed ?? 7, width: quick ? 160 : 320 });
    log(`      data check`);
  } else log(`[1/${steps}] data check: ${data}`);
  const check = await checkDataset(data);
  writeFileAtomic(join(out, 'data-check.txt'), formatCheckReport(check) + '\n');
  if (check.valid === 0) throw new Error(`${data}: no usable movie (see ${join(out, 'data-check.txt')})`);
  const dataset = await loadDataset(data);
  data = dataset.root;
  log(
    `      ${check.valid} movies (train ${check.perSplit.train} / dev ${check.perSplit.dev} / test ${check.perSplit.test}), ${check.errors} errors, ${check.warnings} warnings`,
  );

  // 2. Features, once, in this process with every core (the trainings then only read the cache).
  log(`[2/${steps}] features (posters through MobileNetV2, plots through GloVe)`);
  await extractConfigInputs(dataset, configs, { workers: opts.workers });

  // 3. Training, in parallel worker threads.
  const overrides: TrainingOverrides = {};
  const epochs = opts.epochs ?? (quick ? 3 : undefined);
  if (epochs !== undefined) overrides.epochs = epochs;
  const runsDir = join(out, 'runs');
  const failures = new Map<string, string>();
  // Fusions find their unimodal source runs in the runs folder (runs/sources.ts), trained in stage one.
  for (const [k, stage] of [unimodal, fusions].entries()) {
    if (stage.length === 0 || opts.signal?.aborted) continue;
    await trainStage(stage, k === 0 ? 'unimodal' : 'fusions');
  }

  async function trainStage(stage: TrainConfig[], what: string): Promise<void> {
    const jobs: TrainJob[] = [];
    const reused: string[] = [];
    for (const c of stage) {
      const dir = join(runsDir, c.name);
      const same = sameOverrides(dir, c, overrides);
      if (runStatus(dir) === 'done' && same) {
        reused.push(c.name);
        continue;
      }
      // A run of another config (or epoch cap) cannot be resumed; this is the demo's own folder.
      if (!same && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      jobs.push({
        config: c.name,
        data,
        out: dir,
        overrides,
        resume: existsSync(join(dir, RUN_FILES.checkpoint)),
        sourcesDir: runsDir,
      });
    }
    log(
      `${what === 'unimodal' ? `[3/${steps}] training` : '     '} (${what}) ${jobs.map((j) => j.config).join(', ') || 'nothing'}${reused.length ? ` (reusing ${reused.join(', ')})` : ''}`,
    );
    if (jobs.length > 0) {
      // One bar over every epoch the stage may run (a run stopping early counts its unrun epochs
      // as done), with the latest epoch's loss and dev macro-F1 beside it.
      const maxEpochs = new Map(
        jobs.map((j) => [j.config, withOverrides(loadConfig(j.config), overrides).training.epochs]),
      );
      const seen = new Map(jobs.map((j) => [j.config, 0]));
      const total = [...maxEpochs.values()].reduce((a, b) => a + b, 0);
      const bar = progressBar(`      training (${what})`, total, {
        unit: 'epochs',
        silent: opts.progressBars === false,
      });
      const outcomes = await trainMany(jobs, {
        workers: opts.workers ?? defaultWorkers(),
        signal: opts.signal,
        onEpoch: (job, m) => {
          seen.set(job.config, (seen.get(job.config) ?? 0) + 1);
          bar.tick(
            1,
            `· ${job.config} epoch ${m.epoch}/${maxEpochs.get(job.config)} loss ${m.loss.toFixed(3)} dev macro-F1 ${m.devMacroF1.toFixed(3)}`,
          );
        },
        onDone: (o) => {
          bar.tick(Math.max(0, (maxEpochs.get(o.job.config) ?? 0) - (seen.get(o.job.config) ?? 0)));
          const t = o.ok ? o.result.test : undefined;
          log(
            o.ok
              ? `      ${o.job.config}: ${o.result.status}, ${o.result.fit.history.length} epochs, best dev macro-F1 ${o.result.fit.bestDevMacroF1.toFixed(3)}; test macro-F1 ${t?.at05.macro.toFixed(3) ?? '—'} (0.5) / ${t?.tuned.macro.toFixed(3) ?? '—'} (tuned)`
              : `      ${o.job.config}: FAILED: ${o.error}`,
          );
        },
      });
      bar.stop();
      for (const o of outcomes) if (!o.ok) failures.set(o.job.config, o.error);
    }
  }

  // 4. Evaluation.
  log(`[4/${steps}] evaluation`);
  const rows: DemoRow[] = configs.map((c) => demoRow(c, join(out, 'runs', c.name), failures.get(c.name)));
  const finetunedVsFrozen = comparePosterModels(out, dataset);

  // 5. Report: the table (text) and the HTML report of every finished run.
  log(`[5/${steps}] report`);
  const report = formatDemoReport(rows, dataset, finetunedVsFrozen, synthetic);
  writeFileAtomic(join(out, 'report.txt'), report + '\n');
  const finished = rows.filter((r) => r.status === 'done').map((r) => join(runsDir, r.config));
  let reportHtml: string | undefined;
  if (finished.length) {
    reportHtml = join(out, 'report.html');
    try {
      const bytes = await writeReport(finished, reportHtml, { bootstrap: quick ? 100 : 500 });
      log(`      ${reportHtml} (${(bytes / 1024).toFixed(0)} KB)`);
    } catch (err) {
      log(`      report.html not written: ${err instanceof Error ? err.message : String(err)}`);
      reportHtml = undefined;
    }
  }
  const result: DemoResult = {
    out,
    data,
    synthetic,
    rows,
    finetunedVsFrozen,
    report,
    reportHtml,
    nextSteps: nextSteps(runsDir, rows, dataset),
    seconds: (performance.now() - t0) / 1000,
  };
  writeJsonAtomic(join(out, 'demo.json'), { ...result, report: undefined });
  return result;
}

/**
 * What the demo cost on a shared 2-core machine: the defaults (600 synthetic movies) took 8 min 49 s,
 * --quick (150 movies, 3 epochs) 2 min 47 s with the machine's load average at 9. Scaled to the
 * movies asked for and the cores here; a busy machine takes longer, and the training bar's ETA says.
 */
export const DEMO_MEASURED = { movies: 600, seconds: 529, quickMovies: 150, quickSeconds: 167, cores: 2 };

export function estimateLine(syntheticMovies: number | null, quick: boolean, cores: number): string {
  const m = DEMO_MEASURED;
  const [refMovies, refSeconds] = quick ? [m.quickMovies, m.quickSeconds] : [m.movies, m.seconds];
  if (syntheticMovies === null)
    return `this trains ${DEMO_CONFIGS.length + DEMO_FUSIONS.length} models on your dataset: from minutes to hours with its size (the training bar shows an ETA)`;
  const seconds =
    (refSeconds * (syntheticMovies / refMovies) * m.cores) / Math.max(1, Math.min(cores, m.cores * 2));
  const minutes = Math.max(1, Math.round(seconds / 60));
  return `estimated time: about ${minutes} min (${Math.round(refSeconds / 60)} min for ${refMovies} movies measured on ${m.cores} cores; a slower or busy machine takes longer)`;
}

/** Commands to try next, with this demo's paths (a real test movie of the dataset for predict). */
export function nextSteps(runsDir: string, rows: DemoRow[], dataset: Dataset): string[] {
  const done = new Set(rows.filter((r) => r.status === 'done').map((r) => r.config));
  const model = ['fusion-gmu', 'fusion-concat', 'poster-frozen', 'text-gru'].find((c) => done.has(c));
  const q = (p: string): string => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`);
  const steps: string[] = [];
  if (model) {
    const run = q(join(runsDir, model));
    const testIds = new Set(dataset.splits.test);
    const movie = dataset.records.find((r) => testIds.has(r.id) && r.posterPath && r.plot);
    const input = movie
      ? `--poster ${q(movie.posterPath!)} --plot ${q(movie.plot!.replace(/::.*$/s, '').trim().slice(0, 80))}`
      : '--poster poster.jpg --plot "A retired detective is pulled back for one last case"';
    steps.push(
      `mmgenre predict --model ${run} ${input}`,
      `mmgenre serve --model ${run} --runs ${q(runsDir)}`,
    );
  }
  if (done.size)
    steps.push(`mmgenre report ${[...done].map((c) => q(join(runsDir, c))).join(' ')} --out report.html`);
  steps.push(`mmgenre compare ${q(runsDir)}/* --published`);
  return steps;
}

function runStatus(dir: string): string | null {
  try {
    return readRunInfo(dir).status;
  } catch {
    return null;
  }
}

/** A finished run is reused only if it was trained with the same effective config. */
function sameOverrides(dir: string, c: TrainConfig, o: TrainingOverrides): boolean {
  try {
    return readFileSync(join(dir, RUN_FILES.config), 'utf8') === configToYaml(withOverrides(c, o));
  } catch {
    return false;
  }
}

interface TrainerEval {
  test?: { at05: { f1: EvalSummary }; tuned: { f1: EvalSummary } };
}

function demoRow(c: TrainConfig, dir: string, error?: string): DemoRow {
  const evalPath = join(dir, RUN_FILES.eval);
  if (error || !existsSync(evalPath)) {
    return {
      config: c.name,
      title: c.description ?? c.name,
      status: 'failed',
      error: error ?? 'no eval.json',
    };
  }
  const e = JSON.parse(readFileSync(evalPath, 'utf8')) as TrainerEval;
  const info = readRunInfo(dir);
  return {
    config: c.name,
    title: c.description ?? c.name,
    status: 'done',
    epochs: info.epochsRun,
    trainSeconds: info.trainSeconds,
    at05: e.test?.at05.f1,
    tuned: e.test?.tuned.f1,
  };
}

function comparePosterModels(out: string, dataset: Dataset): PairedBootstrapResult | undefined {
  return compareRuns(join(out, 'runs', 'poster-finetuned'), join(out, 'runs', 'poster-frozen'), dataset);
}

/**
 * Paired bootstrap of run A − run B on their test predictions (the movies both predicted), at
 * 0.5: F1 differences with a 95% interval and a p-value. Undefined when either has no predictions.
 */
export function compareRuns(dirA: string, dirB: string, dataset: Dataset): PairedBootstrapResult | undefined {
  const pa = join(dirA, RUN_FILES.predictionsTest);
  const pb = join(dirB, RUN_FILES.predictionsTest);
  if (!existsSync(pa) || !existsSync(pb)) return undefined;
  const labels = dataset.labels;
  const a = readPredictions(pa, labels);
  const b = new Map(readPredictions(pb, labels).rows.map((r) => [r.id, r]));
  const genres = new Map(dataset.records.map((r) => [r.id, r.genres]));
  const rows = a.rows.filter((r) => b.has(r.id) && genres.has(r.id));
  if (rows.length === 0) return undefined;
  const vec = (scores: Record<string, number>) => labels.map((l) => scores[l]);
  return pairedBootstrapF1(
    rows.map((r) => labels.map((l) => (genres.get(r.id)!.includes(l) ? 1 : 0))),
    rows.map((r) => vec(r.scores)),
    rows.map((r) => vec(b.get(r.id)!.scores)),
    { resamples: 1000, seed: 42 },
  );
}

/** The demo's table (ours at 0.5 and tuned beside the published rows) and the poster comparison. */
export function formatDemoReport(
  rows: DemoRow[],
  dataset: Pick<Dataset, 'name' | 'splits'>,
  ftVsFrozen?: PairedBootstrapResult,
  synthetic = false,
): string {
  const n = dataset.splits.test.length;
  const testSet = `${synthetic ? 'synthetic' : dataset.name} / test (${n} movies)`;
  const ours: CompareRow[] = [];
  for (const r of rows) {
    for (const [protocol, f1] of [
      ['0.5', r.at05],
      ['tuned (dev)', r.tuned],
    ] as const) {
      if (!f1) continue;
      ours.push({
        name: r.config,
        origin: 'ours',
        protocol,
        testSet,
        sameTestSetAsPaper: !synthetic && n === MMIMDB_TEST_SIZE && dataset.name === 'mmimdb',
        n,
        f1: { f1Weighted: f1.weighted, f1Samples: f1.samples, f1Micro: f1.micro, f1Macro: f1.macro },
      });
    }
  }
  // Ours first, the paper's GMU row for reference; every published row is one command away.
  const published = publishedCompareRows().filter((r) => r.name === 'GMU');
  const lines: string[] = [];
  if (synthetic)
    lines.push(
      'These models were trained on SYNTHETIC movies (generated posters and plots): the scores only show',
      'that the pipeline works. The models are useless on real films; train on MM-IMDB for real use',
      '(mmgenre data fetch mmimdb, then mmgenre demo --data <dir>).',
      '',
    );
  lines.push(formatCompare({ ours, published }));
  lines.push('', 'Every published MM-IMDB result: mmgenre compare --published');
  const failed = rows.filter((r) => r.status === 'failed');
  if (failed.length) {
    lines.push('', 'Failed:');
    for (const r of failed) lines.push(`  ${r.config}: ${r.error}`);
  }
  if (ftVsFrozen) {
    const d = ftVsFrozen.difference;
    const pct = Math.round(ftVsFrozen.confidence * 100);
    lines.push(
      '',
      `Poster fine-tuned − frozen on the test split (${ftVsFrozen.n} movies, at 0.5, paired bootstrap ×${ftVsFrozen.resamples}, ${pct}% interval):`,
    );
    for (const avg of ['macro', 'micro', 'weighted', 'samples'] as const) {
      lines.push(
        `  ${avg.padEnd(8)} ${ftVsFrozen.a[avg].toFixed(3)} − ${ftVsFrozen.b[avg].toFixed(3)} = ${d[avg].estimate >= 0 ? '+' : ''}${d[avg].estimate.toFixed(3)}  [${d[avg].low.toFixed(3)}, ${d[avg].high.toFixed(3)}]  p=${d[avg].pValue.toFixed(3)}`,
      );
    }
  }
  return lines.join('\n');
}
