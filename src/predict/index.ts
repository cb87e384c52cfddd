/** Prediction from raw inputs (posters, plots) with a trained run, one movie or a whole dataset. */
export * from './types.js';
export * from './predictor.js';
export * from './dataset.js';
export * from './format-prediction.js';
export * from './batcher.js';
export { findGate, type GateInfo, type ForwardResult } from './forward.js';
export * from './default-model.js';
export * from './unlabeled.js';
export * from './shard.js';
