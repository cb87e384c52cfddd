/** The training API (with the run folders it writes: src/runs/). */
export * from '../runs/index.js';
export * from './data.js';
export * from './checkpoint.js';
export * from './trainer.js';
export * from './pipeline.js';
export * from './many.js';
export * from './onnx-step.js';
export { fitLateWeights, trainLate } from './late-fusion.js';
