/** The feature cache's public API (re-exported by src/index.ts). */
export {
  extractFeatures,
  extractFeaturesWithReport,
  extractFeatureSet,
  extractSequences,
  extractSequencesWithReport,
  loadFeatures,
  loadSequences,
  extractCommand,
  groupMissing,
  FeaturesNotCachedError,
  SEQUENCE_ENCODER,
  type ExtractOptions,
  type ChunkRunner,
  type ChunkJob,
  type ChunkSlot,
  type ExtractReport,
  type ExtractResult,
  type MissingReason,
} from './extract.js';
export {
  createEncoder,
  registerEncoder,
  resolveEncoder,
  knownEncoders,
  loadBuiltinEncoders,
  type EncoderFactory,
  type EncoderOptions,
  type EncoderSpec,
} from './registry.js';
export {
  listEntries,
  entrySize,
  readManifest,
  CorruptCacheError,
  type FeatureManifest,
  type FeatureDtype,
  type ChunkRecord,
  type SourceStamp,
} from './store.js';
export {
  prepareInputOptions,
  registerInputPreparer,
  fitTfidfOptions,
  fitSequenceOptions,
  trainRecords,
  type InputPreparer,
} from './preparers.js';
export { fitNormalizer, applyNormalizer, type Normalizer } from './normalize.js';
