/**
 * `mmgenre grid`: every requested feature combination × fusion × seed, trained in parallel
 * worker threads (trainMany) on features extracted once up front, then aggregated over seeds,
 * compared, and written as JSON + markdown. Re-running on the same --out reuses finished runs
 * and resumes interrupted ones from their checkpoints.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { multiHot } from '../../data/genres.js';
import { loadDataset } from '../../data/load.js';
import type { Dataset } from '../../data/types.js';
import { env } from '../../env.js';
import { evaluate } from '../../eval/metrics.js';
import { readPredictions } from '../../eval/predictions.js';
import { allNegativeBaseline } from '../../eval/run-eval.js';
import { extractFeaturesWithReport } from '../../features/extract.js';
import type { FeatureMatrix } from '../../features/types.js';
import { fitCompanyVocabulary } from '../../text/companies.js';
import { configToYaml, type TrainingSettings } from '../../runs/config.js';
import { trainMany, type TrainJob } from '../../train/many.js';
import { RUN_FILES, type RunInfo } from '../../runs/run.js';
import { CHECKPOINT_FILE } from '../../train/trainer.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { progress } from '../../util/progress.js';
import { analyseGrid, type CellPredictions } from './analysis.js';
import {
  combinationKey,
  combinationLabel,
  selectCombinations,
  type Combination,
  type CombinationMode,
} from './combinations.js';
import { GRID_TRAINING, gridConfig, gridRunName } from './configs.js';
import { FEATURE_INPUTS, GridInputError, unavailableFeatures, type GridFeature } from './features.js';
import { formatGridMarkdown } from './tables.js';
import { STUDY_FUSIONS, STUDY_SOURCE, studyScore, type GridFusion } from './published.js';
import { spread } from './stats.js';
import {
  GRID_METRICS,
  type GridCell,
  type GridFeatureReport,
  type GridReport,
  type GridRunResult,
  type GridScores,
  type MissingPosterMode,
} from './types.js';

export interface GridOptions {
  /** Dataset folder (TMDB or MM-IMDB layout). */
  data: string;
  /** Default: overview, title, companies, poster (without companies when the dataset has none). */
  features?: GridFeature[];
  /** Default: the study's concat and sum (gmu and moe on request: more trainings). */
  fusions?: GridFusion[];
  /** A count (seeds 1..n) or the seeds themselves. Default 3. */
  seeds?: number | number[];
  combinations?: CombinationMode;
  /** Movies without a poster: left out of poster combinations ('drop', default) or kept with the poster missing ('mask'). */
  missingPoster?: MissingPosterMode;
  /** Parallel trainings (default 2). Feature extraction uses as many threads. */
  workers?: number;
  /** Output folder (default <runs>/grid-<dataset>). */
  out?: string;
  /** Override training settings of every run (epochs, patience, ...). */
  training?: Partial<TrainingSettings>;
  /** Encoder per feature, replacing the default (e.g. { poster: 'mobilenet_v2_onnx' }). */
  encoders?: Partial<Record<GridFeature, string>>;
  cacheDir?: string;
  /** Paired-bootstrap resamples of the comparisons (default 1000). */
  bootstrapResamples?: number;
  /** Progress bars on stderr (default true). */
  progress?: boolean;
  signal?: AbortSignal;
}

const DEFAULT_FEATURES: GridFeature[] = ['overview', 'title', 'companies', 'poster'];

/** Seeds 1..n for a count, or the list itself (validated). */
export function gridSeeds(seeds: number | number[] | undefined): number[] {
  const list = Array.isArray(seeds) ? seeds : Array.from({ length: seeds ?? 3 }, (_, k) => k + 1);
  if (list.length === 0) throw new GridInputError('at least one seed is needed');
  for (const s of list) {
    if (!Number.isInteger(s) || s < 0)
      throw new GridInputError(`seeds must be non-negative integers, got ${s}`);
  }
  if (new Set(list).size !== list.length) throw new GridInputError(`seeds repeat: ${list.join(', ')}`);
  return list;
}

/** One training to do: its config, where it runs, and on which movies. */
export interface GridJob {
  name: string;
  combination: Combination;
  fusion: GridFusion | null;
  seed: number;
  configPath: string;
  configYaml: string;
  dir: string;
  /** Restrict to these movies ('drop' mode with a poster input). */
  onlyIds?: string[];
}

/**
 * The jobs of a grid: each combination once per fusion (a single input once, fusion null),
 * each for every seed.
 */
export function planGridJobs(o: {
  combinations: Combination[];
  fusions: GridFusion[];
  seeds: number[];
  out: string;
  encoderOptions?: Partial<Record<GridFeature, Record<string, unknown>>>;
  encoders?: Partial<Record<GridFeature, string>>;
  training?: Partial<TrainingSettings>;
  /** Movies with a usable poster, when poster combinations must drop the others. */
  posterIds?: string[];
}): GridJob[] {
  if (o.fusions.length === 0) throw new GridInputError('no fusion given');
  const jobs: GridJob[] = [];
  for (const combination of o.combinations) {
    const fusions: (GridFusion | null)[] = combination.length > 1 ? o.fusions : [null];
    for (const fusion of fusions) {
      for (const seed of o.seeds) {
        const config = gridConfig({
          combination,
          fusion,
          seed,
          encoderOptions: o.encoderOptions,
          encoders: o.encoders,
          training: o.training,
        });
        const name = gridRunName(combination, fusion, seed);
        jobs.push({
          name,
          combination,
          fusion,
          seed,
          configPath: join(o.out, 'configs', `${name}.yaml`),
          configYaml: configToYaml(config),
          dir: join(o.out, 'runs', name),
          ...(o.posterIds && combination.includes('poster') ? { onlyIds: o.posterIds } : {}),
        });
      }
    }
  }
  return jobs;
}

export const cellKey = (c: Combination, fusion: GridFusion | null): string =>
  `${combinationKey(c)}/${fusion ?? 'single'}`;

interface RunState {
  status: 'new' | 'resume' | 'done';
}

/** What an earlier call left in a job's directory; throws when it holds a different config. */
function runState(job: GridJob): RunState {
  const stored = join(job.dir, RUN_FILES.config);
  if (!existsSync(stored)) return { status: 'new' };
  if (readFileSync(stored, 'utf8') !== job.configYaml) {
    throw new GridInputError(
      `${job.dir} holds a run with a different config (an earlier grid with other settings); ` +
        'choose another --out or remove that folder',
    );
  }
  const infoPath = join(job.dir, RUN_FILES.run);
  const info = existsSync(infoPath) ? (JSON.parse(readFileSync(infoPath, 'utf8')) as RunInfo) : undefined;
  if (info?.status === 'done' && existsSync(join(job.dir, RUN_FILES.predictionsTest)))
    return { status: 'done' };
  return { status: existsSync(join(job.dir, CHECKPOINT_FILE)) ? 'resume' : 'new' };
}

/** Train (or reuse) every job, aggregate, compare, and write grid.json + grid.md into `out`. */
export async function runGrid(opts: GridOptions): Promise<GridReport> {
  const t0 = performance.now();
  const showProgress = opts.progress !== false;
  const workers = Math.max(1, opts.workers ?? 2);
  const seeds = gridSeeds(opts.seeds);
  const fusions = opts.fusions ?? [...STUDY_FUSIONS];
  const mode = opts.combinations ?? 'study';
  const missingPoster = opts.missingPoster ?? 'drop';

  const dataset = await loadDataset(opts.data, { progress: showProgress });
  const loadSeconds = (performance.now() - t0) / 1000;
  let features = opts.features ?? DEFAULT_FEATURES;
  const absent = unavailableFeatures(dataset, features);
  if (absent.length && !opts.features) features = features.filter((f) => !absent.includes(f));
  else if (absent.length) {
    throw new GridInputError(
      `${dataset.root} (${dataset.format}) has no ${absent.join(', ')} for any movie; leave ${absent.length > 1 ? 'them' : 'it'} out of --features`,
    );
  }
  const combinations = selectCombinations(features, mode);
  const used = FEATURE_ORDER.filter((f) => combinations.some((c) => c.includes(f)));
  const out = resolve(opts.out ?? join(env.runsDir, `grid-${dataset.name}`));
  mkdirSync(out, { recursive: true });

  const tf0 = performance.now();
  const encoderOptions = fitEncoderOptions(dataset, used);
  const { matrices, featureReports } = await extractGridFeatures(
    dataset,
    used,
    encoderOptions,
    opts,
    workers,
  );
  const featureSeconds = (performance.now() - tf0) / 1000;

  let posterIds: string[] | undefined;
  if (missingPoster === 'drop' && matrices.has('poster')) {
    const m = matrices.get('poster')!;
    posterIds = m.ids.filter((_, i) => !m.missing[i]);
  }
  const training = { ...opts.training };
  const jobs = planGridJobs({
    combinations,
    fusions,
    seeds,
    out,
    encoderOptions,
    encoders: opts.encoders,
    training,
    posterIds,
  });
  const states = jobs.map(runState);
  for (const j of jobs) writeFileAtomic(j.configPath, j.configYaml);

  const tt0 = performance.now();
  const errors = await trainGridJobs(jobs, states, opts, workers, showProgress);
  const trainSeconds = (performance.now() - tt0) / 1000;

  const truth = truthById(dataset);
  const { runs, predictions } = collectGridRuns(jobs, states, errors, dataset, truth);

  const cells = buildCells(jobs, runs, predictions, truth, dataset.labels.length);
  const resamples = opts.bootstrapResamples ?? 1000;
  const { comparisons, analysis } = analyseGrid({
    cells,
    predictions,
    truth,
    fusions,
    missingPoster,
    resamples,
  });
  const report: GridReport = {
    format: 'mmgenre-grid/1',
    createdAt: new Date().toISOString(),
    dataset: {
      path: dataset.root,
      name: dataset.name,
      format: dataset.format,
      records: dataset.records.length,
      labels: dataset.labels,
    },
    settings: {
      features,
      fusions,
      seeds,
      combinations: mode,
      missingPoster,
      workers,
      epochs: training.epochs ?? GRID_TRAINING.epochs!,
      patience: training.patience ?? GRID_TRAINING.patience!,
      bootstrapResamples: resamples,
    },
    spread: 'mean ± sample standard deviation (n − 1) over seeds; min and max in the JSON',
    studySource: STUDY_SOURCE,
    features: featureReports,
    cells,
    runs,
    comparisons,
    analysis,
    timings: {
      loadSeconds,
      featureSeconds,
      trainSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
    },
    out,
  };
  writeJsonAtomic(join(out, 'grid.json'), report);
  writeFileAtomic(join(out, 'grid.md'), formatGridMarkdown(report));
  return report;
}

/** Options fitted on the training split only (the companies' vocabulary), per feature that needs one. */
function fitEncoderOptions(
  dataset: Dataset,
  used: GridFeature[],
): Partial<Record<GridFeature, Record<string, unknown>>> {
  const encoderOptions: Partial<Record<GridFeature, Record<string, unknown>>> = {};
  if (used.includes('companies')) {
    const train = new Set(dataset.splits.train);
    const vocabulary = fitCompanyVocabulary(
      dataset.records.filter((r) => train.has(r.id)),
      { minCount: 2, maxCompanies: 500 },
    );
    if (vocabulary.length === 0) {
      throw new GridInputError('no production company is credited on two or more training movies');
    }
    encoderOptions.companies = { vocabulary };
  }
  return encoderOptions;
}

/** Every feature the grid uses, extracted once up front with every worker; the trainings then only read the cache. */
async function extractGridFeatures(
  dataset: Dataset,
  used: GridFeature[],
  encoderOptions: Partial<Record<GridFeature, Record<string, unknown>>>,
  opts: GridOptions,
  workers: number,
): Promise<{ matrices: Map<GridFeature, FeatureMatrix>; featureReports: GridFeatureReport[] }> {
  const featureReports: GridFeatureReport[] = [];
  const matrices = new Map<GridFeature, FeatureMatrix>();
  for (const f of used) {
    const encoder = opts.encoders?.[f] ?? FEATURE_INPUTS[f].encoder;
    const r = await extractFeaturesWithReport(
      dataset,
      { name: encoder, options: encoderOptions[f] },
      { workers, cacheDir: opts.cacheDir, progress: opts.progress !== false, signal: opts.signal },
    );
    matrices.set(f, r.features);
    featureReports.push({
      feature: f,
      encoder,
      rows: r.report.rows,
      missing: r.report.missing,
      computedRows: r.report.computedRows,
      seconds: r.report.seconds,
      cacheDir: r.report.dir,
    });
  }
  return { matrices, featureReports };
}

/**
 * Train the jobs not done yet, `workers` at once; the workers read their features from the same
 * cache as the extraction (passed per job). Returns the error of each job that failed, by name.
 */
async function trainGridJobs(
  jobs: GridJob[],
  states: Array<ReturnType<typeof runState>>,
  opts: GridOptions,
  workers: number,
  showProgress: boolean,
): Promise<Map<string, string>> {
  const todo = jobs.filter((_, k) => states[k].status !== 'done');
  const bar = progress(`grid: ${todo.length} trainings (${workers} at once)`, todo.length, {
    silent: !showProgress,
    unit: 'runs',
  });
  const trainJobs: TrainJob[] = todo.map((j) => ({
    config: j.configPath,
    data: resolve(opts.data),
    out: j.dir,
    resume: states[jobs.indexOf(j)].status === 'resume',
    ...(j.onlyIds ? { onlyIds: j.onlyIds } : {}),
    ...(opts.cacheDir ? { cacheDir: resolve(opts.cacheDir) } : {}),
  }));
  const errors = new Map<string, string>();
  let outcomes: Awaited<ReturnType<typeof trainMany>>;
  try {
    outcomes = await trainMany(trainJobs, {
      workers,
      signal: opts.signal,
      onDone: (o) => bar.tick(1, `${o.ok ? 'done' : 'FAILED'} ${o.job.out.split('/').at(-1)}`),
    });
  } finally {
    bar.stop();
  }
  outcomes.forEach((o, k) => {
    if (!o.ok) errors.set(todo[k].name, o.error);
    else if (o.result.status !== 'done') errors.set(todo[k].name, `training ${o.result.status}`);
  });
  return errors;
}

/** Every job's result (failed, trained now or reused) and each cell's test predictions by seed. */
function collectGridRuns(
  jobs: GridJob[],
  states: Array<ReturnType<typeof runState>>,
  errors: Map<string, string>,
  dataset: Dataset,
  truth: Map<string, Uint8Array>,
): { runs: GridRunResult[]; predictions: Map<string, CellPredictions> } {
  const runs: GridRunResult[] = [];
  const predictions = new Map<string, CellPredictions>();
  for (const [k, j] of jobs.entries()) {
    const cell = cellKey(j.combination, j.fusion);
    const base = {
      name: j.name,
      cell,
      combination: j.combination,
      fusion: j.fusion,
      seed: j.seed,
      dir: j.dir,
    };
    const error = errors.get(j.name);
    if (error) {
      runs.push({ ...base, status: 'failed', error });
      continue;
    }
    try {
      const { scores, ids, probs, info } = readRun(j.dir, dataset.labels, truth);
      runs.push({
        ...base,
        status: states[k].status === 'done' ? 'reused' : 'done',
        sizes: {
          train: info.data.sizes.train ?? 0,
          dev: info.data.sizes.dev ?? 0,
          test: info.data.sizes.test ?? 0,
        },
        bestEpoch: info.bestEpoch,
        epochsRun: info.epochsRun,
        trainSeconds: info.trainSeconds,
        test: scores,
      });
      const p = predictions.get(cell) ?? { key: cell, ids, bySeed: new Map() };
      p.bySeed.set(j.seed, probs);
      predictions.set(cell, p);
    } catch (err) {
      runs.push({ ...base, status: 'failed', error: (err as Error).message });
    }
  }
  return { runs, predictions };
}

const FEATURE_ORDER: GridFeature[] = ['overview', 'title', 'companies', 'poster'];

/** Multi-hot truth of every movie, in the dataset's label order. */
function truthById(dataset: Dataset): Map<string, Uint8Array> {
  return new Map(dataset.records.map((r) => [r.id, multiHot(r.genres, dataset.labels)]));
}

/** A finished run's test predictions and scores. */
function readRun(
  dir: string,
  labels: string[],
  truth: Map<string, Uint8Array>,
): { scores: GridScores; ids: string[]; probs: Float32Array[]; info: RunInfo } {
  const info = JSON.parse(readFileSync(join(dir, RUN_FILES.run), 'utf8')) as RunInfo;
  const file = readPredictions(join(dir, RUN_FILES.predictionsTest), labels);
  if (file.errors.length) {
    throw new Error(`${dir}: bad predictions (line ${file.errors[0].line}: ${file.errors[0].message})`);
  }
  const ids = file.rows.map((r) => r.id);
  const probs = file.rows.map((r) => Float32Array.from(labels, (l) => r.scores[l]));
  const yTrue = ids.map((id) => {
    const y = truth.get(id);
    if (!y) throw new Error(`${dir}: predicted movie ${id} is not in the dataset`);
    return y;
  });
  return { scores: scoresOf(yTrue, probs, labels), ids, probs, info };
}

export function scoresOf(
  yTrue: ArrayLike<number>[],
  probs: ArrayLike<number>[],
  labels: string[],
): GridScores {
  const m = evaluate(yTrue, probs, labels, { threshold: 0.5 });
  return {
    labelwiseAccuracy: m.labelwiseAccuracy,
    rocAucMacro: m.rocAuc.macro ?? NaN,
    f1Micro: m.f1.micro,
    f1Macro: m.f1.macro,
  };
}

function buildCells(
  jobs: GridJob[],
  runs: GridRunResult[],
  predictions: Map<string, CellPredictions>,
  truth: Map<string, Uint8Array>,
  L: number,
): GridCell[] {
  const cells: GridCell[] = [];
  const seen = new Set<string>();
  for (const j of jobs) {
    const key = cellKey(j.combination, j.fusion);
    if (seen.has(key)) continue;
    seen.add(key);
    const mine = runs.filter((r) => r.cell === key);
    const ok = mine.filter((r) => r.test);
    const metrics: GridCell['metrics'] = {};
    if (ok.length) for (const m of GRID_METRICS) metrics[m] = spread(ok.map((r) => r.test![m]));
    const ids = predictions.get(key)?.ids ?? [];
    cells.push({
      key,
      combination: j.combination,
      label: combinationLabel(j.combination),
      fusion: j.fusion,
      seeds: ok.map((r) => r.seed),
      failed: mine.length - ok.length,
      ...(ok[0]?.sizes ? { sizes: ok[0].sizes } : {}),
      metrics,
      ...(ids.length
        ? {
            allNegativeAccuracy: allNegativeBaseline(ids.map((id) => truth.get(id) ?? new Uint8Array(L)))
              .labelwiseAccuracy,
          }
        : {}),
      ...(studyScore(j.combination, j.fusion) ? { study: studyScore(j.combination, j.fusion) } : {}),
    });
  }
  return cells;
}
