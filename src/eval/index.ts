/** The evaluation layer's public API (re-exported from the package root). */
export * from './metrics.js';
export * from './ranking.js';
export * from './thresholds.js';
export * from './predictions.js';
export * from './bootstrap.js';
export * from './run-eval.js';
export * from './evaluate-predictions.js';
export * from './published.js';
export * from './compare.js';
export * from './text-tables.js';
