/** The report API: model diagrams and the self-contained HTML report of runs. */
export * from './text.js';
export * from './diagram-model.js';
export * from './diagram-layout.js';
export * from './diagram-svg.js';
export * from './diagram.js';
export * from './spec-source.js';
