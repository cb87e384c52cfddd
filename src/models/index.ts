/** The models API; importing it registers every built-in model family. */
export * from './spec.js';
export * from './ops.js';
export * from './registry.js';
export * from './build.js';
import './head.js';
export * from './fusion/index.js';
import './sequence.js';
import './finetune.js';
import './tfidf-linear.js';
