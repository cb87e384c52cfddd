/**
 * One training, end to end: dataset directory + config → features (extracted into the cache
 * when missing) → model → run directory with the best model, tuned thresholds, predictions
 * and the evaluation. `trainOnData` is the same from prepared arrays (tests, benchmarks).
 */
import { acquireFileLock } from '../util/lock.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadDataset } from '../data/load.js';
import type { Dataset, SplitName } from '../data/types.js';
import { evaluate } from '../eval/metrics.js';
import { toPredictionRows, writePredictions, type PredictionRow } from '../eval/predictions.js';
import { ROBUST_TUNING, tuneThresholds, writeThresholds } from '../eval/thresholds.js';
import { extractFeatureSet, extractSequencesWithReport } from '../features/extract.js';
import { inputVariants } from './extract-inputs.js';
import { HDF5_MATRIX_ENCODERS, HDF5_SEQUENCE_ENCODER, isHdf5Encoder } from '../features/hdf5-encoders.js';
import type { FeatureMatrix, SequenceFeatures } from '../features/types.js';
import { getModelFamily } from '../models/registry.js';
import { specWithSources } from '../runs/source-layer.js';
import type { InputSpec, ModelSpec } from '../models/spec.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import {
  configToYaml,
  inputModality,
  parseConfig,
  withOverrides,
  type TrainConfig,
  type TrainingOverrides,
} from '../runs/config.js';
import { prepareInputOptions } from '../features/preparers.js';
import type { Normalizer } from '../features/normalize.js';
import { assembleTrainingData, rowsOf, type SplitData, type TrainingData } from './data.js';
import {
  readRunInfo,
  RUN_FILES,
  saveLayersModel,
  versions,
  writeRunInfo,
  type RunInfo,
} from '../runs/run.js';
import { ensureSourceRuns, withSourceDirs } from '../runs/sources.js';
import { CHECKPOINT_FILE, fit, predictSplit, type FitResult } from './trainer.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';
import { trainLate } from './late-fusion.js';
import type { TrainRunOptions, TrainRunResult } from './types.js';

export type { EvalSummary, TrainRunOptions, TrainRunResult } from './types.js';

/**
 * Families not trained as one tfjs model train themselves: late fusion combines trained runs.
 * (The model families stay pure; their training lives here in train/.)
 */
const OWN_TRAINERS: Record<string, typeof trainLate> = { late: trainLate };

export class RunExistsError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('conflict', message, options);
  }
}

function checkOut(out: string, resume: boolean | undefined): void {
  if (!resume && existsSync(join(out, CHECKPOINT_FILE))) {
    throw new RunExistsError(
      `${out} already holds a training run: pass --resume to continue it, or choose another --out`,
    );
  }
  mkdirSync(out, { recursive: true });
}

type TrainFromConfigOptions = TrainRunOptions & {
  overrides?: TrainingOverrides;
  extractWorkers?: number;
  /** Train and evaluate on these movies only (features are still extracted for all, so the cache is shared). */
  onlyIds?: string[];
};

/**
 * One training at a time per run folder: a second `train` into the same --out (started 40 ms
 * later, or while the first runs) is refused at once instead of overwriting its results. A
 * training's own nested call (trainFromConfig → trainOnData) holds it already (tracked per async
 * call chain, so two concurrent trainings in one process still exclude each other); a lock whose
 * holder is gone (killed: the resume path) is taken over.
 */
async function withRunLock<T>(out: string, work: () => Promise<T>): Promise<T> {
  const path = join(resolve(out), RUN_LOCK_FILE);
  const held = runLocksHeld.getStore() ?? new Set<string>();
  if (held.has(path)) return work();
  const release = await acquireFileLock(path, { purpose: 'a training' });
  try {
    return await runLocksHeld.run(new Set([...held, path]), work);
  } finally {
    release();
  }
}

const runLocksHeld = new AsyncLocalStorage<Set<string>>();

/** The run folder's lock file (present only while a training writes into it). */
export const RUN_LOCK_FILE = '.train.lock';

/** Train a config on a dataset directory into `opts.out`. */
export async function trainFromConfig(
  config: TrainConfig,
  dataDir: string,
  opts: TrainFromConfigOptions,
): Promise<TrainRunResult> {
  // Checked again here: a config built in code (not read by parseConfig) must not train with
  // `epochs: -1` (an untrained model marked done) or ignore `epochs: 'abc'`.
  const checked = parseConfig(
    config,
    `trainFromConfig: config '${String((config as { name?: unknown })?.name)}'`,
  );
  return withRunLock(opts.out, () => trainFromConfigLocked(checked, dataDir, opts));
}

async function trainFromConfigLocked(
  config: TrainConfig,
  dataDir: string,
  opts: TrainFromConfigOptions,
): Promise<TrainRunResult> {
  const named = opts.overrides ? withOverrides(config, opts.overrides) : config;
  const out = resolve(opts.out);
  // The runs this one reads: found in the sources folder, or trained there first.
  const sourcesDir = resolve(opts.sourcesDir ?? dirname(out));
  const sources = await ensureSourceRuns(named, {
    sourcesDir,
    seedOffset: named.training.seed - config.training.seed,
    epochs: opts.overrides?.epochs,
    train: (c, dir, resume) =>
      trainFromConfig(c, dataDir, {
        out: dir,
        resume,
        signal: opts.signal,
        progress: opts.progress === false ? false : `train ${c.name}`,
        backend: opts.backend,
        extractWorkers: opts.extractWorkers,
        cacheDir: opts.cacheDir,
        sourcesDir,
      }),
  });
  const cfg = withSourceDirs(named, sourcesDir);
  const ownTrainer = OWN_TRAINERS[cfg.model.type];
  if (ownTrainer) {
    const r = await ownTrainer(cfg, dataDir, { ...opts, out });
    if (sources.length > 0 && existsSync(join(out, RUN_FILES.run)))
      writeRunInfo(out, { ...readRunInfo(out), sources });
    return r;
  }
  checkOut(out, opts.resume);
  const dataset = await loadDataset(dataDir);
  checkHdf5Inputs(cfg, dataset);
  const features: Array<{
    input: (typeof cfg.inputs)[number];
    options: Record<string, unknown>;
    features: FeatureMatrix | SequenceFeatures;
    views: FeatureMatrix[];
    report: { dir: string };
  }> = [];
  const extractOpts = {
    workers: opts.extractWorkers,
    progress: opts.progress !== false,
    cacheDir: opts.cacheDir,
  };
  // Options fitted on the training split where the encoder needs them (TF-IDF, vocabularies).
  const prepared = [];
  for (const input of cfg.inputs)
    prepared.push({ input, options: await prepareInputOptions(input.encoder, input.options, dataset) });
  // Every dense input and training view in one call: variants of one network (two layers, with
  // and without mirroring) then run it once per poster and orientation.
  const denseSpecs = prepared.flatMap(({ input, options }) =>
    input.kind === 'sequence'
      ? []
      : inputVariants(input, options).map((o) => ({ name: input.encoder, options: o })),
  );
  const dense = await extractFeatureSet(dataset, denseSpecs, extractOpts);
  for (const { input, options } of prepared) {
    if (input.kind === 'sequence') {
      const r = await extractSequencesWithReport(dataset, {
        ...extractOpts,
        encoder: { name: input.encoder, options },
      });
      features.push({ input, options, features: r.features, views: [], report: r.report });
      continue;
    }
    const [r, ...views] = dense.splice(0, 1 + (input.trainViews?.length ?? 0));
    features.push({
      input,
      options,
      features: r.features,
      views: views.map((v) => v.features),
      report: r.report,
    });
  }
  const assembled = assembleTrainingData(
    opts.onlyIds ? restrictDataset(dataset, opts.onlyIds) : dataset,
    features.map((f) => ({
      id: f.input.id,
      features: f.features,
      normalize: f.input.normalize,
      trainViews: f.views,
    })),
  );
  const inputs: InputSpec[] = features.map((f, k) => ({
    id: f.input.id,
    modality: inputModality(f.input),
    source: {
      kind: f.input.kind,
      encoder: f.input.encoder,
      options: f.options,
      normalize: f.input.normalize,
    },
    shape:
      f.input.kind === 'sequence'
        ? [Number(f.options.maxLen ?? assembled.data.dims[k])]
        : [(f.features as FeatureMatrix).dim],
    dtype: f.input.kind === 'sequence' ? 'int32' : 'float32',
  }));
  const { type, ...options } = cfg.model;
  const spec = specWithSources(type, options, { labels: dataset.labels, inputs });
  const missingCount = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);
  const info: RunInfo = {
    name: cfg.name,
    status: 'running',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    data: {
      path: dataset.root,
      name: dataset.name,
      format: dataset.format,
      labels: dataset.labels,
      // Movies, not rows: mirrored training copies repeat a movie's id.
      sizes: {
        train: new Set(assembled.data.train.ids).size,
        dev: assembled.data.dev.n,
        test: assembled.data.test?.n ?? 0,
      },
    },
    features: features.map((f, k) => ({
      input: f.input.id,
      encoder: f.input.encoder,
      options: f.input.options,
      cacheEntry: f.report.dir,
      dim: assembled.data.dims[k],
      missing: {
        train: missingCount(assembled.data.train.missing[k]),
        dev: missingCount(assembled.data.dev.missing[k]),
        test: missingCount(assembled.data.test?.missing[k] ?? new Uint8Array()),
      },
    })),
    versions: versions(),
    seed: cfg.training.seed,
    droppedTrain: assembled.droppedTrain.length,
    ...(sources.length > 0 ? { sources } : {}),
  };
  // config.yaml keeps the source runs' names (run.json says where they were found).
  return trainOnData(named, spec, assembled.data, assembled.normalizers, { ...opts, out }, info);
}

/**
 * An MM-IMDB HDF5 file has posters (`images`) but no plot text: a plot input must read the file's
 * own plot features, or every movie would lack its plot and none would be left to train on.
 */
const HDF5_PLOT_ENCODERS = [
  ...Object.entries(HDF5_MATRIX_ENCODERS)
    .filter(([, d]) => d.modality === 'plot')
    .map(([name]) => name),
  HDF5_SEQUENCE_ENCODER,
];

function checkHdf5Inputs(cfg: TrainConfig, dataset: Dataset): void {
  if (dataset.format !== 'mmimdb-hdf5') return;
  for (const input of cfg.inputs) {
    if (inputModality(input) === 'poster' || isHdf5Encoder(input.encoder)) continue;
    throw new MmgenreError(
      'input',
      `config ${cfg.name}: input '${input.id}' reads the plot text with '${input.encoder}', and the HDF5 file ${dataset.name} holds no plot text, only its precomputed plot features`,
      {
        hint: `train one of the configs/paper-*.yaml configs, whose plot inputs read the file's own rows (${HDF5_PLOT_ENCODERS.join(', ')}); poster encoders read the file's images`,
      },
    );
  }
}

/** The dataset with only the movies in `ids` (records and splits). */
function restrictDataset(dataset: Dataset, ids: string[]): Dataset {
  const keep = new Set(ids);
  const splits = { ...dataset.splits };
  for (const s of Object.keys(splits) as SplitName[]) splits[s] = splits[s].filter((id) => keep.has(id));
  return { ...dataset, records: dataset.records.filter((r) => keep.has(r.id)), splits };
}

/** Train prepared data into a run directory (what trainFromConfig does after loading features). */
export async function trainOnData(
  config: TrainConfig,
  spec: ModelSpec,
  data: TrainingData,
  normalizers: Normalizer[],
  opts: TrainRunOptions,
  info?: RunInfo,
): Promise<TrainRunResult> {
  return withRunLock(opts.out, () => trainOnDataLocked(config, spec, data, normalizers, opts, info));
}

async function trainOnDataLocked(
  config: TrainConfig,
  spec: ModelSpec,
  data: TrainingData,
  normalizers: Normalizer[],
  opts: TrainRunOptions,
  info?: RunInfo,
): Promise<TrainRunResult> {
  const out = resolve(opts.out);
  checkOut(out, opts.resume);
  const runInfo: RunInfo = info ?? {
    name: config.name,
    status: 'running',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    data: {
      path: '(in memory)',
      name: 'in-memory',
      format: 'synthetic',
      labels: data.labels,
      sizes: { train: data.train.n, dev: data.dev.n, test: data.test?.n ?? 0 },
    },
    features: spec.inputs.map((i, k) => ({
      input: i.id,
      encoder: i.source.encoder,
      dim: data.dims[k],
      missing: {},
    })),
    versions: versions(),
    seed: config.training.seed,
  };
  writeFileAtomic(join(out, RUN_FILES.config), configToYaml(config));
  writeJsonAtomic(join(out, RUN_FILES.spec), spec);
  writeJsonAtomic(join(out, RUN_FILES.preprocess), normalizers);
  writeRunInfo(out, runInfo);

  const t0 = performance.now();
  const result = await fit(spec, data, {
    settings: config.training,
    dir: out,
    resume: opts.resume,
    signal: opts.signal,
    progress: opts.progress ?? `train ${config.name}`,
    maxEpochsThisCall: opts.maxEpochsThisCall,
    backend: opts.backend,
    onEpoch: opts.onEpoch,
  });
  const { built, ...fitSummary } = result;
  const summary: RunInfo = {
    ...runInfo,
    epochsRun: result.history.length,
    bestEpoch: result.bestEpoch,
    bestDevMacroF1: result.bestDevMacroF1,
    stopReason: result.stopReason,
    gradientEngine: result.engine,
    trainSeconds: (runInfo.trainSeconds ?? 0) + (performance.now() - t0) / 1000,
  };
  if (result.stopReason === 'interrupted') {
    writeRunInfo(out, { ...summary, status: 'interrupted' });
    built.model.dispose();
    return { dir: out, status: 'interrupted', fit: fitSummary };
  }

  await saveLayersModel(built.model, join(out, RUN_FILES.modelDir));
  const L = data.labels.length;
  const devProb = predictSplit(built.model, data.dev, data.dims);
  const devTrue = rowsOf(data.dev.y, data.dev.n, L);
  const devRows = rowsOf(devProb, data.dev.n, L);
  const thresholds = tuneThresholds(devTrue, devRows, ROBUST_TUNING);
  writeThresholds(join(out, RUN_FILES.thresholds), {
    labels: data.labels,
    thresholds,
    tunedOn: 'dev',
    policy: { ...ROBUST_TUNING },
  });
  const annotate = getModelFamily(spec.family).annotate;
  const rowsWithExtras = (split: SplitData, rows: Float32Array[]): PredictionRow[] => {
    const extras = annotate?.(built.model, spec, split.x, split.missing, split.n);
    return toPredictionRows(split.ids, rows, data.labels).map((r, i) => ({ ...r, ...extras?.[i] }));
  };
  writePredictions(join(out, RUN_FILES.predictionsDev), rowsWithExtras(data.dev, devRows));
  const evalJson: Record<string, unknown> = {
    run: config.name,
    bestEpoch: result.bestEpoch,
    dev: {
      at05: evaluate(devTrue, devRows, data.labels, { threshold: 0.5 }),
      tuned: evaluate(devTrue, devRows, data.labels, { threshold: thresholds }),
    },
  };
  let test: TrainRunResult['test'];
  if (data.test && data.test.n > 0) {
    const { at05, tuned } = evaluateSplit(
      built.model,
      data.test,
      data,
      thresholds,
      join(out, RUN_FILES.predictionsTest),
      rowsWithExtras,
    );
    evalJson.test = { at05, tuned };
    test = { at05: at05.f1, tuned: tuned.f1 };
  }
  writeJsonAtomic(join(out, RUN_FILES.eval), evalJson);
  writeRunInfo(out, { ...summary, status: 'done' });
  built.model.dispose();
  return { dir: out, status: 'done', fit: fitSummary, test };
}

function evaluateSplit(
  model: FitResult['built']['model'],
  split: SplitData,
  data: TrainingData,
  thresholds: number[],
  predictionsPath: string,
  toRows: (split: SplitData, rows: Float32Array[]) => PredictionRow[],
): { at05: ReturnType<typeof evaluate>; tuned: ReturnType<typeof evaluate> } {
  const L = data.labels.length;
  const prob = rowsOf(predictSplit(model, split, data.dims), split.n, L);
  const truth = rowsOf(split.y, split.n, L);
  writePredictions(predictionsPath, toRows(split, prob));
  return {
    at05: evaluate(truth, prob, data.labels, { threshold: 0.5 }),
    tuned: evaluate(truth, prob, data.labels, { threshold: thresholds }),
  };
}
