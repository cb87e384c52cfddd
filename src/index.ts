/**
 * mmgenre's library API: what a program needs to load data, extract features, train, predict,
 * evaluate, report and serve. Every name is listed here on purpose (no `export *`): the list is
 * snapshotted by test/api.test.ts, so nothing becomes public by accident. Internals stay reachable
 * from their modules for the CLI and the tests, but are not the library's promise.
 */

// Settings, read from the environment once and overridable from code.
export { env, type Env } from './env.js';

// Errors: every error a user can cause or fix extends MmgenreError (kind → exit code, HTTP status).
export { MmgenreError, isMmgenreError, type ErrorKind } from './util/errors.js';

// Data: datasets in the MM-IMDB, TMDB and HDF5 layouts, their checks and statistics.
export { loadDataset, type LoadOptions } from './data/load.js';
export { SPLITS, type Dataset, type MovieRecord, type SplitName } from './data/types.js';
export { MMIMDB_GENRES } from './data/genres.js';
export { checkDataset } from './data/check.js';
export { datasetStats } from './data/stats.js';
export { synthesizeDataset, type SynthOptions } from './data/synth.js';
export { fetchMmimdb } from './data/fetch.js';

// Engine: TensorFlow.js on WebAssembly with the project's kernel fixes.
export { initEngine, engineInfo, tf, type EngineOptions } from './engine/index.js';

// Features: encoders and the feature cache.
export {
  extractFeatures,
  extractSequences,
  loadFeatures,
  loadSequences,
  registerEncoder,
  resolveEncoder,
  knownEncoders,
  type ExtractOptions,
  type EncoderFactory,
  type EncoderSpec,
} from './features/index.js';
export type { Encoder, FeatureMatrix, Modality, SequenceFeatures } from './features/types.js';

// Models: the registry of model families and the specs they write.
export {
  registerModel,
  knownModels,
  specFor,
  buildModel,
  SpecBuilder,
  type ModelFamily,
  type ModelBuildContext,
  type ModelSpec,
  type InputSpec,
} from './models/index.js';

// Training: configs, one run, every run of a study.
export {
  loadConfig,
  parseConfig,
  shippedConfigNames,
  trainFromConfig,
  trainOnData,
  type TrainConfig,
  type TrainRunOptions,
  type TrainRunResult,
  type TrainingData,
} from './train/index.js';
export { runAll, type RunAllOptions, type RunAllSummary } from './experiments/run-all.js';

// Prediction: a trained run (or the shipped model) as a predictor.
export {
  loadPredictor,
  predictDataset,
  predictMovies,
  readUnlabeledMovies,
  defaultModelDir,
  type Predictor,
  type PredictorOptions,
  type PredictInput,
  type Prediction,
  type PredictDatasetOptions,
} from './predict/index.js';

// Evaluation: the paper's metrics (threshold 0.5, scikit-learn's averages), intervals, thresholds.
export {
  evaluate,
  macroF1,
  rocAuc,
  averagePrecision,
  bootstrapF1,
  pairedBootstrapF1,
  tuneThresholds,
  DEFAULT_THRESHOLD,
  readPredictions,
  writePredictions,
  evaluatePredictionsFile,
  type MultilabelMetrics,
  type PredictionRow,
} from './eval/index.js';

// Reports: the self-contained HTML report of runs.
export { renderReport, writeReport } from './report/report.js';
export type { ReportOptions } from './report/context.js';

// Serving: the web app and HTTP API over trained runs.
export { startServer, buildApp, type ServeOptions, type RunningServer } from './serve/index.js';
