/** Prediction from raw inputs (posters, plots) with a trained run, one movie or a whole dataset. */
export * from './types.js';
export * from './predictor.js';
export * from './dataset.js';
export * from './format.js';
export * from './batcher.js';
export { findGate, type GateInfo, type ForwardResult } from './gate.js';
export * from './default-model.js';
export * from './unlabeled.js';
export * from './shard.js';
