/** mmgenre's library API: everything the CLI does is callable from here. */
export { env } from './env.js';
export * from './data/genres.js';
export * from './data/types.js';
export * from './data/synth.js';
export * from './features/types.js';
export * from './features/index.js';
export * from './engine/index.js';
export * from './vision/index.js';
export * from './text/index.js';
