/**
 * Contracts between encoders, the feature cache and the models. They sit beside the records they
 * describe so that the stored-feature reader (hdf5.ts) and the encoders in text/ and vision/ share
 * them without importing the feature layer above them.
 */
import type { MovieRecord } from './types.js';

/**
 * A dense feature matrix, row-major: row i belongs to ids[i].
 * `missing[i] = 1` marks a movie whose input (poster, plot) was absent or bad: its row is
 * all zeros and must not be read as data (models mask it, fusions drop that modality).
 */
export interface FeatureMatrix {
  ids: string[];
  dim: number;
  data: Float32Array;
  missing: Uint8Array;
  /** Shape of one row when it is a tensor (e.g. [7, 7, 320] for a trunk output); [dim] otherwise. */
  rowShape: number[];
}

/** Token-id sequences (variable length) for the recurrent models. */
export interface SequenceFeatures {
  ids: string[];
  /** sequences[i] are vocabulary ids (0 = padding, 1 = unknown). */
  sequences: Int32Array[];
  missing: Uint8Array;
  vocabSize: number;
}

export type Modality = 'poster' | 'plot' | 'title' | 'companies';

/**
 * An encoder turns one input of a movie into a fixed-size vector.
 * `key` identifies encoder + preprocessing + version: the feature cache is keyed by it,
 * so changing any of those recomputes the features.
 */
export interface Encoder {
  /** Registry name, e.g. 'mobilenet_v2', 'glove-mean'. */
  name: string;
  modality: Modality;
  /** Stable identity of weights + preprocessing + code version (hashed into the cache key). */
  key: string;
  dim: number;
  rowShape: number[];
  /**
   * Called with the dataset's records before `init` when the encoder's key or dim depend on the
   * data (the HDF5 encoders learn their file and width here). Worker threads never call it.
   */
  bindRecords?(records: readonly MovieRecord[]): void;
  /** Compute in the calling thread: reading stored rows costs less than starting a worker. */
  inProcess?: boolean;
  /** Prepare weights (load model, build GloVe cache...). Idempotent. */
  init(): Promise<void>;
  /**
   * Encode a batch of records. Returns one vector per record, or an error message for a
   * record whose input is missing/bad (the cache records it as missing, never as zeros-as-data).
   */
  encode(records: MovieRecord[]): Promise<Array<Float32Array | { error: string }>>;
  dispose(): void;
}

export type EncoderOptions = Record<string, unknown>;

/** Makes an encoder from its JSON options (what the encoder registry holds per name). */
export type EncoderFactory = ((options?: EncoderOptions) => Encoder) & {
  /**
   * For encoders that can compute several of their variants in one pass (two layers of one
   * network): variants with the same group can be joined; null never joins.
   */
  jointGroup?: (options: EncoderOptions) => string | null;
  /** Options of one encoder whose row is the rows of `variants`, concatenated in that order. */
  jointOptions?: (variants: EncoderOptions[]) => EncoderOptions;
};
