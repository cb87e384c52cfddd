/** The encoder and feature contracts (defined in data/ so that the layers below features share them). */
export type * from '../data/feature-types.js';
