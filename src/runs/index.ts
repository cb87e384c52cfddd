/** Run folders: configs, what a training leaves behind and how to open it, and the runs a config reads. */
export * from './config.js';
export * from './run.js';
export * from './sources.js';
export * from './source-layer.js';
export * from './raw-predictions.js';
export * from './late-run.js';
