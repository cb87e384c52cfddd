/** The fusion model families; importing this module registers them (and their ops and layers). */
import './ops.js';
import './pretrained.js';
import './concat.js';
import './sum.js';
import './product.js';
import './gmu.js';
import './late.js';
import './moe.js';

export { GmuGate, GmuCombine, MissingEmbedding, ExpertGate, MixtureLogits, presenceOf } from './layers.js';
export { annotateFusion, gateShares, gateValue, type FusionAnnotation, type GateValue } from './gate.js';
export { combineLate, expertMissing, lateSpec, lateOptions, type LateOptions } from './late.js';
export type { SourceLayer, SourceRuns } from './pretrained.js';
export { GMU_GATE_NODE } from './gmu.js';
export { MOE_GATE_NODE } from './moe.js';
