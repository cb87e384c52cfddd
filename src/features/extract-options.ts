/**
 * What an extraction is asked for: its options, and the contract of a ChunkRunner, which
 * computes the pending chunks somewhere else than this process's worker threads (src/queue).
 */
import type { MovieRecord } from '../data/types.js';
import type { ChunkOutput, ComputerSpec } from './compute.js';
import type { FeatureDtype, Freshness } from './store.js';
import type { Modality } from './types.js';
import type { ChunkSlot } from './plan.js';

export interface ExtractOptions {
  /** Worker threads (default: every core). 0 computes in the calling thread. */
  workers?: number;
  cacheDir?: string;
  /** Records per encoder call (fixed per cache entry: a resumed run keeps the first run's value). */
  batchSize?: number;
  /** Rows per chunk, the unit of resumption (fixed per cache entry like batchSize). */
  chunkRows?: number;
  dtype?: FeatureDtype;
  /** Called after each chunk with rows done (this run) and rows to do (this run). */
  onProgress?: (done: number, total: number) => void;
  /** Stop early: finished chunks are kept, the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Draw a progress bar on stderr (default true; MMGENRE_QUIET=1 silences it anyway). */
  progress?: boolean;
  /** Check every chunk's sha256 when reading back (default true; ~1 ms per MB). */
  verify?: boolean;
  /** Compute the pending chunks elsewhere (a job queue, src/queue) instead of worker threads here. */
  runner?: ChunkRunner;
  /**
   * How cached rows are judged current (default: env.featureFreshness, 'stat'): 'stat' compares
   * each poster's size and mtime; 'content' also hashes its bytes, so a poster replaced by
   * another of the same size and mtime is recomputed too (see docs/cache.md).
   */
  freshness?: Freshness;
}

/** One extraction's pending work, handed to a ChunkRunner. */
export interface ChunkJob {
  /** Identifies this extraction (cache entry, chunk layout, inputs): the same when it is resumed. */
  key: string;
  /** The dataset's folder or file (records' posters lie inside it). */
  datasetRoot: string;
  /** Every chunk of the entry, in order (pending ones included). */
  slots: ChunkSlot[];
  pending: ChunkSlot[];
  records: MovieRecord[];
  spec: ComputerSpec;
  modality: Modality;
  /** Store a computed chunk (idempotent: a chunk already stored by this call is ignored). */
  onChunk(slot: ChunkSlot, out: ChunkOutput): void;
  /** Extra text after the progress bar (shards done, workers alive). */
  status(text: string): void;
  signal?: AbortSignal;
}

export interface ChunkRunner {
  /** Where the chunks are computed, for the report (e.g. the queue's URL, password masked). */
  readonly label: string;
  /** Resolves once every pending chunk went through onChunk; rejects naming the movies that did not. */
  run(job: ChunkJob): Promise<void>;
}
