/**
 * One training config per (combination, fusion, seed): each feature becomes a model input
 * through its encoder, and the inputs are fused (src/models/fusion) by concatenation or
 * summation of per-input projections, by a GMU over them (a per-unit softmax gate over the
 * modalities), or by a mixture of per-modality experts. A single input is the same branch +
 * classifier, no fusion.
 */
import { parseConfig, type TrainConfig, type TrainingSettings } from '../../runs/config.js';
import { combinationKey, type Combination } from './combinations.js';
import { FEATURE_INPUTS, type GridFeature } from './features.js';
import type { GridFusion } from './published.js';

/** Training settings of every grid run; the fusion configs' (configs/fusion-*.yaml) with a shorter schedule. */
export const GRID_TRAINING: Partial<TrainingSettings> = {
  epochs: 20,
  batchSize: 64,
  lr: 3e-3,
  weightDecay: 1e-4,
  classWeights: 'balanced',
  maxPosWeight: 20,
  patience: 5,
};

/** Size every input is projected to before fusing (summation needs one common size). */
export const GRID_PROJECTION = 64;

export interface GridConfigOptions {
  combination: Combination;
  /** null for a single input (no fusion). */
  fusion: GridFusion | null;
  seed: number;
  /** Encoder options per feature (the company vocabulary fitted on train). */
  encoderOptions?: Partial<Record<GridFeature, Record<string, unknown>>>;
  /** Encoder name per feature, replacing the default (e.g. mobilenet_v2_onnx for the poster). */
  encoders?: Partial<Record<GridFeature, string>>;
  training?: Partial<TrainingSettings>;
  /** Modality dropout of multi-input models (default 0.2, as the fusion configs). */
  modalityDropout?: number;
}

/** The run's name (config names allow no '+'): 'grid-overview_poster-concat-s1'. */
export function gridRunName(c: Combination, fusion: GridFusion | null, seed: number): string {
  return `grid-${combinationKey(c).replace(/\+/g, '_')}-${fusion ?? 'single'}-s${seed}`;
}

/**
 * What differs between the fusion families, sized like the rest of the grid: every fusion sees
 * the same 64-d projections, the GMU mixes them into 64 units, and each MoE expert has one hidden
 * layer of 64 (as configs/fusion-moe.yaml) since it replaces the classifier the others share.
 */
function fusionOptions(fusion: GridFusion | null): Record<string, unknown> {
  switch (fusion) {
    case 'gmu':
      return { units: GRID_PROJECTION, hidden: [] };
    case 'moe':
      return { expertHidden: [GRID_PROJECTION] };
    default:
      return { hidden: [] };
  }
}

/** A validated training config for one grid cell. */
export function gridConfig(o: GridConfigOptions): TrainConfig {
  const multi = o.combination.length > 1;
  if (multi && o.fusion === null)
    throw new Error(`${combinationKey(o.combination)}: several inputs need a fusion`);
  const inputs = o.combination.map((f) => {
    const spec = FEATURE_INPUTS[f];
    const options = o.encoderOptions?.[f];
    return {
      id: spec.inputId,
      encoder: o.encoders?.[f] ?? spec.encoder,
      ...(options ? { options } : {}),
      modality: spec.inputId,
      normalize: spec.normalize,
    };
  });
  const branches = Object.fromEntries(
    o.combination.map((f) => [FEATURE_INPUTS[f].inputId, { inputDropout: FEATURE_INPUTS[f].inputDropout }]),
  );
  const raw = {
    name: gridRunName(o.combination, o.fusion, o.seed),
    description: multi
      ? `${o.fusion} fusion of ${o.combination.join(', ')} (mmgenre grid)`
      : `${o.combination[0]} alone (mmgenre grid)`,
    inputs,
    model: {
      // One input: concat of a single projection is just projection + classifier.
      type: o.fusion ?? 'concat',
      project: GRID_PROJECTION,
      projectActivation: 'relu',
      branches,
      ...fusionOptions(o.fusion),
      dropout: 0.5,
    },
    training: {
      ...GRID_TRAINING,
      ...o.training,
      modalityDropout: multi ? (o.modalityDropout ?? 0.2) : 0,
      seed: o.seed,
    },
  };
  return parseConfig(raw, `grid config ${raw.name}`);
}
