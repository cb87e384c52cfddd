/**
 * The grid's input features: what each one is called on the command line, the model input it
 * becomes and the encoder that computes it.
 */
import type { Dataset } from '../../data/types.js';
import type { Modality } from '../../features/types.js';
import { MmgenreError, type MmgenreErrorOptions } from '../../util/errors.js';

/** The study's four features, in the order the study names them. */
export const GRID_FEATURES = ['overview', 'title', 'companies', 'poster'] as const;
export type GridFeature = (typeof GRID_FEATURES)[number];

/** Other names accepted on the command line (MM-IMDB calls the overview a plot). */
export const FEATURE_ALIASES: Record<string, GridFeature> = { plot: 'overview', company: 'companies' };

export interface FeatureInput {
  feature: GridFeature;
  /** Input id in the model config (a modality name, so the fusions know what it is). */
  inputId: Modality;
  encoder: string;
  /** How the cached features are normalised before the model (fitted on train). */
  normalize: 'zscore' | 'none';
  /** Dropout on this input's vector in multi-input models (the poster's 1,280 dims get the most). */
  inputDropout: number;
  /** Display name in tables. */
  label: string;
}

export const FEATURE_INPUTS: Record<GridFeature, FeatureInput> = {
  overview: {
    feature: 'overview',
    inputId: 'plot',
    encoder: 'glove-mean',
    normalize: 'zscore',
    inputDropout: 0.2,
    label: 'overview',
  },
  title: {
    feature: 'title',
    inputId: 'title',
    encoder: 'title-glove-mean',
    normalize: 'zscore',
    inputDropout: 0.2,
    label: 'title',
  },
  companies: {
    feature: 'companies',
    inputId: 'companies',
    encoder: 'companies-multihot',
    // A multi-hot stays 0/1: z-scoring would blow a rare company's column up to ~1/std.
    normalize: 'none',
    inputDropout: 0.2,
    label: 'production companies',
  },
  poster: {
    feature: 'poster',
    inputId: 'poster',
    encoder: 'mobilenet_v2',
    normalize: 'zscore',
    inputDropout: 0.5,
    label: 'poster',
  },
};

export class GridInputError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}

/** A feature name (or alias) → the canonical feature; throws naming the accepted ones. */
export function parseFeature(name: string): GridFeature {
  const n = name.trim().toLowerCase();
  if ((GRID_FEATURES as readonly string[]).includes(n)) return n as GridFeature;
  const alias = FEATURE_ALIASES[n];
  if (alias) return alias;
  throw new GridInputError(
    `unknown feature '${name}': use ${GRID_FEATURES.join(', ')} (or ${Object.keys(FEATURE_ALIASES).join(', ')})`,
  );
}

/** A comma-separated list → canonical features in the study's order, without duplicates. */
export function parseFeatureList(list: string | string[]): GridFeature[] {
  const parts = (Array.isArray(list) ? list : list.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new GridInputError('no feature given');
  const set = new Set(parts.map(parseFeature));
  return GRID_FEATURES.filter((f) => set.has(f));
}

/**
 * Which features a dataset can provide: a feature no movie has (MM-IMDB has no production
 * companies) cannot be trained on. Returns the features that are absent for every record.
 */
export function unavailableFeatures(dataset: Dataset, features: readonly GridFeature[]): GridFeature[] {
  const has: Record<GridFeature, (r: Dataset['records'][number]) => boolean> = {
    overview: (r) => !!r.plot?.trim(),
    title: (r) => !!r.title?.trim(),
    companies: (r) => (r.companies ?? []).length > 0,
    poster: (r) => r.posterPath !== null,
  };
  return features.filter((f) => !dataset.records.some(has[f]));
}
