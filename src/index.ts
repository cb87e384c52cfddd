/** mmgenre's library API: everything the CLI does is callable from here. */
export { env } from './env.js';
export * from './data/genres.js';
export * from './data/types.js';
export * from './data/load.js';
export * from './data/mmimdb-dir.js';
export * from './data/tmdb.js';
export * from './data/split.js';
export * from './data/python-literal.js';
export * from './data/check.js';
export * from './data/stats.js';
export * from './data/synth.js';
export * from './data/hdf5.js';
export * from './features/types.js';
export * from './features/index.js';
export * from './engine/index.js';
export * from './vision/index.js';
export * from './text/index.js';
export * from './eval/index.js';
