/**
 * `run-all`: the unimodal and the multimodal set on one dataset, then one comparison table.
 * Features are extracted once up front (so two training workers never extract the same thing),
 * the models train in parallel worker threads (trainMany), late fusions train after the
 * unimodal runs they combine, and every fusion is also scored with the poster removed and
 * with the plot removed from the test split.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadDataset } from '../data/load.js';
import { initEngine } from '../engine/index.js';
import { multiHot } from '../data/genres.js';
import type { Dataset } from '../data/types.js';
import { buildCompareReport } from '../eval/compare.js';
import { evaluate } from '../eval/metrics.js';
import { pairedBootstrapF1 } from '../eval/bootstrap.js';
import { readPredictions } from '../eval/predictions.js';
import { buildRunEval, writeRunEval, type RunEvalFile } from '../eval/run-eval.js';
import { readThresholds, ROBUST_TUNING, tuneThresholds } from '../eval/thresholds.js';
import { isLateRun, predictLateRun } from '../runs/late-run.js';
import { predictRaw, rawInputsFor } from '../runs/raw-predictions.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { inputModality, loadConfig, shippedConfigNames, type TrainConfig } from '../runs/config.js';
import { extractConfigInputs } from '../train/extract-inputs.js';
import { trainMany, type TrainJob, type TrainJobOutcome } from '../train/many.js';
import { sourceConfigsOf, sourceRunsOf } from '../runs/sources.js';
import { loadRun, RUN_FILES } from '../runs/run.js';
import { paperRowComparison } from './paper-rows.js';
import { formatRunAllMarkdown } from './run-all-tables.js';
import type {
  F1Pair,
  PairedComparison,
  RemovedScores,
  RunAllEntry,
  RunAllSummary,
  SeedEnsemble,
} from './run-all-types.js';

export type { F1Pair, PairedComparison, RemovedScores, RunAllEntry, RunAllSummary, SeedEnsemble };
export {
  formatPairedTable,
  formatRemovedTable,
  formatRunAll,
  formatRunAllMarkdown,
} from './run-all-tables.js';

export interface RunAllOptions {
  data: string;
  out: string;
  /** Config names or paths (default: every shipped unimodal config and every fusion config). */
  configs?: string[];
  workers?: number;
  /** Seeds per config (default 1); seed k runs with the config's seed + k. */
  seeds?: number;
  /** Features extraction threads (default: every core). */
  extractWorkers?: number;
  /** Epoch cap for every config (quick runs, tests). */
  epochs?: number;
  progress?: boolean;
  /** Called as each training ends. */
  onDone?(outcome: TrainJobOutcome): void;
}

/**
 * The runs of one config over seeds as one model: their dev and test probabilities averaged,
 * thresholds tuned on the averaged dev predictions. Read from the runs' prediction files.
 */
export function seedEnsemble(dirs: string[], dataset: Dataset): SeedEnsemble {
  const averaged = (file: string) => averagedPredictions(dirs, file, dataset);
  const dev = averaged(RUN_FILES.predictionsDev);
  const test = averaged(RUN_FILES.predictionsTest);
  const devTruth = truthRows(dataset, dev.ids);
  const testTruth = truthRows(dataset, test.ids);
  const thresholds = tuneThresholds(devTruth, dev.probs, ROBUST_TUNING);
  const macro = (t: Uint8Array[], p: Float32Array[], th: number | number[]) =>
    evaluate(t, p, dataset.labels, { threshold: th }).f1.macro;
  return {
    runs: dirs.length,
    dev: { at05: macro(devTruth, dev.probs, 0.5) },
    test: { at05: macro(testTruth, test.probs, 0.5), tuned: macro(testTruth, test.probs, thresholds) },
  };
}

/** The runs' probabilities for `file` averaged per movie (every run must list the same movies). */
function averagedPredictions(
  dirs: string[],
  file: string,
  dataset: Dataset,
): { ids: string[]; probs: Float32Array[] } {
  const L = dataset.labels.length;
  let ids: string[] = [];
  let sum: Float32Array[] = [];
  for (const dir of dirs) {
    const preds = readPredictions(join(dir, file), dataset.labels);
    if (preds.errors.length > 0) throw new Error(`${dir}: bad ${file}: ${preds.errors[0].message}`);
    if (sum.length === 0) {
      ids = preds.rows.map((r) => r.id);
      sum = ids.map(() => new Float32Array(L));
    }
    preds.rows.forEach((r, i) => {
      if (r.id !== ids[i]) throw new Error(`${dir}: ${file} lists other movies than ${dirs[0]}`);
      dataset.labels.forEach((l, j) => (sum[i][j] += r.scores[l] / dirs.length));
    });
  }
  return { ids, probs: sum };
}

/**
 * Whether the GMU beats each other model on this test split, beyond the movies' sampling noise:
 * for each config in `subjects` against every other config in `runsByConfig`, the test macro-F1
 * at 0.5 of their seed ensembles (one run when there is one seed) and a paired bootstrap of the
 * difference (1,000 resamples of the same movies for both). Test numbers only: selection stays on dev.
 */
export function pairedAgainst(
  subjects: string[],
  runsByConfig: Map<string, string[]>,
  dataset: Dataset,
  resamples = 1000,
): PairedComparison[] {
  const test = new Map(
    [...runsByConfig].map(([c, dirs]) => [c, averagedPredictions(dirs, RUN_FILES.predictionsTest, dataset)]),
  );
  const out: PairedComparison[] = [];
  for (const a of subjects) {
    const pa = test.get(a);
    if (!pa) continue;
    const truth = truthRows(dataset, pa.ids);
    for (const [b, pb] of test) {
      if (b === a) continue;
      const index = new Map(pb.ids.map((id, i) => [id, i]));
      if (pa.ids.some((id) => !index.has(id)))
        throw new Error(`${a} and ${b} were tested on different movies`);
      const r = pairedBootstrapF1(
        truth,
        pa.probs,
        pa.ids.map((id) => pb.probs[index.get(id)!]),
        { resamples, threshold: 0.5 },
      );
      const d = r.difference.macro;
      out.push({
        a,
        b,
        runs: runsByConfig.get(a)!.length,
        aMacro: r.a.macro,
        bMacro: r.b.macro,
        difference: d.estimate,
        low: d.low,
        high: d.high,
        pValue: d.pValue,
      });
    }
  }
  return out;
}

const isLate = (c: TrainConfig): boolean => c.model.type === 'late';

/** Trains after the runs it reads (late fusion's experts, branches taken from trained runs). */
const trainsLater = (c: TrainConfig): boolean => isLate(c) || sourceRunsOf(c, '.').length > 0;

/** How many modalities a config reads (several inputs of one modality, e.g. two poster layers, count once). */
function modalityCount(c: TrainConfig): number {
  return new Set(c.inputs.map(inputModality)).size;
}

const kindOf = (c: TrainConfig): 'unimodal' | 'multimodal' =>
  modalityCount(c) > 1 ? 'multimodal' : 'unimodal';

/** Shipped configs run-all trains by default: the unimodal ones (one modality) and the fusions. */
export function defaultRunAllConfigs(): string[] {
  const names = shippedConfigNames().filter((n) => !n.startsWith(PAPER_PREFIX));
  return names.filter((n) => n.startsWith('fusion-') || modalityCount(loadConfig(n)) === 1);
}

/** The paper's rows on an MM-IMDB HDF5 file's own features (`--configs paper`). */
const PAPER_PREFIX = 'paper-';
export function paperConfigs(): string[] {
  return shippedConfigNames().filter((n) => n.startsWith(PAPER_PREFIX));
}

/** Named sets `--configs` accepts besides config names: `paper`. */
function expandConfigSets(names: string[]): string[] {
  return names.flatMap((n) => (n === 'paper' ? paperConfigs() : [n]));
}

function truthRows(dataset: Dataset, ids: string[]): Uint8Array[] {
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  return ids.map((id) => multiHot(byId.get(id)!.genres, dataset.labels));
}

const pair = (m: ReturnType<typeof evaluate>): F1Pair => ({ macro: m.f1.macro, micro: m.f1.micro });

/** A finished run's test evaluation in the compare format (0.5 and dev-tuned), from its predictions. */
export function testEvalOfRun(dir: string, dataset: Dataset): RunEvalFile {
  const preds = readPredictions(join(dir, RUN_FILES.predictionsTest), dataset.labels);
  if (preds.errors.length > 0) throw new Error(`${dir}: bad predictions: ${preds.errors[0].message}`);
  const ids = preds.rows.map((r) => r.id);
  const yProb = preds.rows.map((r) => dataset.labels.map((l) => r.scores[l]));
  const thresholds = readThresholds(join(dir, RUN_FILES.thresholds), dataset.labels).thresholds;
  return buildRunEval({
    yTrue: truthRows(dataset, ids),
    yProb,
    labels: dataset.labels,
    tunedThresholds: thresholds,
    tunedOn: 'dev',
    dataset: dataset.root,
    split: 'test',
    model: readConfigName(dir),
  });
}

function readConfigName(dir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, RUN_FILES.run), 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/**
 * Test scores of a finished multimodal run with the poster removed and with the plot removed
 * (every movie's input masked as missing), beside the full scores; thresholds as tuned on dev.
 */
export async function removedModalityScores(dir: string, dataset: Dataset): Promise<RemovedScores> {
  const byId = new Set(dataset.records.map((r) => r.id));
  const ids = dataset.splits.test.filter((id) => byId.has(id));
  const truth = truthRows(dataset, ids);
  const L = dataset.labels.length;
  const thresholds = readThresholds(join(dir, RUN_FILES.thresholds), dataset.labels).thresholds;
  await initEngine();
  let predictWithout: (remove: Set<string>) => Promise<Float32Array>;
  if (isLateRun(dir)) {
    predictWithout = (remove) => predictLateRun(dir, dataset, ids, remove);
  } else {
    const run = await loadRun(dir);
    const raw = await rawInputsFor(dataset, run.config.inputs, ids);
    predictWithout = (remove) => Promise.resolve(predictRaw(run, raw, remove));
  }
  const score = async (remove: Set<string>): Promise<{ at05: F1Pair; tuned: F1Pair }> => {
    const flat = await predictWithout(remove);
    const rows = ids.map((_, i) => flat.subarray(i * L, (i + 1) * L));
    return {
      at05: pair(evaluate(truth, rows, dataset.labels, { threshold: 0.5 })),
      tuned: pair(evaluate(truth, rows, dataset.labels, { threshold: thresholds })),
    };
  };
  return {
    full: await score(new Set()),
    noPoster: await score(new Set(['poster'])),
    noPlot: await score(new Set(['plot'])),
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const sd = (xs: number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};

export async function runAll(opts: RunAllOptions): Promise<RunAllSummary> {
  const out = resolve(opts.out);
  const seeds = Math.max(1, opts.seeds ?? 1);
  const dataset = await loadDataset(opts.data);
  const names =
    opts.configs && opts.configs.length > 0 ? expandConfigSets(opts.configs) : defaultRunAllConfigs();
  const configs = names.map((n) => loadConfig(n));
  // Runs a fusion's branches come from are trained first, in the same seed folders.
  for (const c of [...configs])
    for (const source of sourceConfigsOf(c)) {
      const sc = loadConfig(source);
      if (!configs.some((x) => x.name === sc.name)) {
        names.push(source);
        configs.push(sc);
      }
    }
  await extractConfigInputs(dataset, configs, {
    workers: opts.extractWorkers,
    progress: opts.progress !== false,
  });

  // One folder per seed when there are several, so late fusion finds its experts beside it.
  const dirOf = (c: TrainConfig, k: number): string =>
    seeds === 1 ? join(out, c.name) : join(out, `seed-${k}`, c.name);
  const jobsFor = (list: TrainConfig[]): Array<TrainJob & { configName: string; seed: number }> =>
    list.flatMap((c, i) =>
      Array.from({ length: seeds }, (_, k) => ({
        config: names[configs.indexOf(c)] ?? String(i),
        // Source runs are the same seed's runs of their configs, beside this one (runs/sources.ts).
        sourcesDir: dirname(dirOf(c, k)),
        configName: c.name,
        seed: c.training.seed + k,
        data: resolve(opts.data),
        out: dirOf(c, k),
        resume: existsSync(join(dirOf(c, k), RUN_FILES.checkpoint)),
        overrides: { seed: c.training.seed + k, ...(opts.epochs ? { epochs: opts.epochs } : {}) },
      })),
    );
  const phase1 = jobsFor(configs.filter((c) => !trainsLater(c)));
  const phase2 = jobsFor(configs.filter(trainsLater));
  const outcomes: TrainJobOutcome[] = [];
  for (const jobs of [phase1, phase2]) {
    if (jobs.length === 0) continue;
    outcomes.push(...(await trainMany(jobs, { workers: opts.workers, onDone: opts.onDone })));
  }

  const entries: RunAllEntry[] = [];
  const compareInputs: { name: string; file: RunEvalFile }[] = [];
  const allJobs = [...phase1, ...phase2];
  for (const [i, o] of outcomes.entries()) {
    const job = allJobs[i];
    const c = configs.find((x) => x.name === job.configName)!;
    const kind = kindOf(c);
    const entry: RunAllEntry = { config: c.name, seed: job.seed, dir: job.out, kind, ok: o.ok };
    if (!o.ok) entry.error = o.error;
    else if (o.result.status === 'done') {
      const file = testEvalOfRun(job.out, dataset);
      writeRunEval(join(job.out, 'test-eval.json'), file);
      const name = seeds === 1 ? c.name : `${c.name} (seed ${job.seed})`;
      compareInputs.push({ name, file });
      const at05 = file.variants.find((v) => v.kind === 'default')!.metrics;
      const tuned = file.variants.find((v) => v.kind === 'tuned')!.metrics;
      entry.test = { at05: pair(at05), tuned: pair(tuned) };
      entry.bestDevMacroF1 = o.result.fit.bestDevMacroF1;
      if (kind === 'multimodal') {
        entry.removed = await removedModalityScores(job.out, dataset);
        writeJsonAtomic(join(job.out, 'removed-modality.json'), entry.removed);
      }
    } else {
      entry.ok = false;
      entry.error = `training ${o.result.status}`;
    }
    entries.push(entry);
  }
  const byConfig = configs.map((c) => {
    const es = entries.filter((e) => e.config === c.name && e.test);
    return {
      config: c.name,
      kind: kindOf(c),
      n: es.length,
      mean: mean(es.map((e) => e.test!.at05.macro)),
      sd: sd(es.map((e) => e.test!.at05.macro)),
      tunedMean: mean(es.map((e) => e.test!.tuned.macro)),
      devMean: mean(es.map((e) => e.bestDevMacroF1 ?? NaN)),
      ...(es.length > 1
        ? {
            ensemble: seedEnsemble(
              es.map((e) => e.dir),
              dataset,
            ),
          }
        : {}),
    };
  });
  const runsByConfig = new Map(
    configs
      .map((c) => [c.name, entries.filter((e) => e.config === c.name && e.test).map((e) => e.dir)] as const)
      .filter(([, dirs]) => dirs.length > 0),
  );
  const gmus = configs.filter((c) => c.model.type === 'gmu').map((c) => c.name);
  const summary: RunAllSummary = {
    data: dataset.root,
    out,
    seeds,
    entries,
    compare: buildCompareReport(compareInputs, true),
    byConfig,
    paired: pairedAgainst(gmus, runsByConfig, dataset).map((p) =>
      seeds > 1 ? { ...p, perSeed: perSeedDifferences(entries, p.a, p.b) } : p,
    ),
  };
  const paper = entries
    .filter((e) => e.test && e.seed === configs.find((c) => c.name === e.config)?.training.seed)
    .flatMap((e) => paperRowComparison(e.config, e.dir, dataset) ?? []);
  if (paper.length > 0) summary.paper = paper;
  writeJsonAtomic(join(out, 'summary.json'), summary);
  writeFileAtomic(join(out, 'summary.md'), formatRunAllMarkdown(summary));
  return summary;
}

/**
 * Test macro-F1 @0.5 of config `a` minus `b`, seed by seed (runs of the same seed paired), in
 * seed order: whether one model beats the other per training run, not only as seed ensembles.
 */
export function perSeedDifferences(entries: RunAllEntry[], a: string, b: string): number[] {
  const bySeed = (c: string) =>
    new Map(entries.filter((e) => e.config === c && e.test).map((e) => [e.seed, e]));
  const ea = bySeed(a);
  const eb = bySeed(b);
  return [...ea.keys()]
    .filter((seed) => eb.has(seed))
    .sort((x, y) => x - y)
    .map((seed) => ea.get(seed)!.test!.at05.macro - eb.get(seed)!.test!.at05.macro);
}
