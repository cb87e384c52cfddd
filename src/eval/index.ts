/** The evaluation layer's public API (re-exported from the package root). */
export * from './metrics.js';
export * from './ranking.js';
export * from './thresholds.js';
export * from './predictions.js';
