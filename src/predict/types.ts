import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';
/** What goes into a prediction and what comes out: the contract of `predict`, `serve` and the CLI. */

/** One movie's raw inputs; any may be absent. */
export interface PredictInput {
  /** The poster: the image file's bytes, or its path. */
  poster?: Buffer | string;
  /** The plot synopsis. */
  plot?: string;
  title?: string;
  companies?: string[];
}

/** '0.5': the paper's fixed threshold; 'tuned': per-genre thresholds tuned on dev (thresholds.json). */
export type ThresholdKind = '0.5' | 'tuned';

export interface MissingInput {
  /** The model input's id (e.g. 'poster', 'plot'). */
  input: string;
  /** Why it could not be used: not given, not an image, no known word... */
  reason: string;
}

export interface Prediction {
  /** Probability of every genre of the model. */
  scores: Record<string, number>;
  /** Genres at or above their threshold, most probable first. */
  genres: string[];
  thresholds: { kind: ThresholdKind; values: Record<string, number> };
  /** Model inputs that were given and usable. */
  inputsUsed: string[];
  /** Model inputs that were absent or unusable (the model read them as missing). */
  inputsMissing: MissingInput[];
  /** Inputs that were given but that this model does not read (e.g. a poster for a text-only model). */
  inputsIgnored: string[];
  /**
   * For a gated fusion (GMU): each modality's share of the fused representation, summing to 1
   * (e.g. {poster: 0.3, plot: 0.7}): the gate z averaged over the hidden units.
   */
  contributions?: Record<string, number>;
  /**
   * For a GMU with a linear classifier (as shipped): per genre, each modality's additive part of
   * the genre's logit, (zᵢ ⊙ hᵢ) · W — exact, no gradients: the parts plus the genre's bias are its
   * logit. Positive: the modality pushed towards the genre. E.g. {Drama: {poster: 0.4, plot: 1.9}}.
   */
  genreContributions?: Record<string, Record<string, number>>;
}

/** Every input of a movie was missing or unusable: nothing to predict from. */
export class NoUsableInputError extends MmgenreError {
  constructor(
    message: string,
    readonly missing: MissingInput[],
  ) {
    super('input', message);
  }
}

/** The run cannot be used for prediction from raw inputs (e.g. an input kind predict does not support). */
export class PredictorError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('unsupported', message, options);
  }
}
