/** The feature-combination study (`mmgenre grid`): public API. */
export * from './features.js';
export * from './combinations.js';
export * from './published.js';
export * from './configs.js';
export * from './stats.js';
export * from './auc-bootstrap.js';
export * from './types.js';
export * from './analysis.js';
export { formatGridText, formatGridMarkdown } from './tables.js';
export * from './grid.js';
