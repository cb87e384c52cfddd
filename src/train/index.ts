/** The training API. */
export * from './config.js';
export * from './data.js';
export * from './checkpoint.js';
export * from './trainer.js';
export * from './run.js';
export * from './pipeline.js';
export * from './many.js';
export * from './inputs.js';
export * from './onnx-step.js';
export * from './sources.js';
