/**
 * Turns the records of one chunk into the chunk's bytes: the same code runs in a worker thread
 * and in the calling thread, so where a chunk was computed never changes its bytes.
 */
import { closeSync, readFileSync } from 'node:fs';
import type { MovieRecord } from '../data/types.js';
import { createEncoder, loadBuiltinEncoders, type EncoderOptions } from './registry.js';
import { encodeRows, packSequenceChunk, sha256, type EntryKind, type FeatureDtype } from './store.js';
import type { Encoder } from './types.js';
import { siblingModule } from '../util/workers.js';
import { openRegularSync } from '../util/regular-file.js';

function readRegularSync(path: string): Buffer {
  const fd = openRegularSync(path);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface ChunkOutput {
  bytes: Uint8Array;
  /** id → message for records without a row. */
  errors: Record<string, string>;
  /** id → sha256 of the poster file read. */
  contentHashes: Record<string, string>;
  /** Sequence chunks: number of values after the lengths. */
  values?: number;
}

/** Everything a thread needs to build the same computer (sent to workers as workerData). */
export interface ComputerSpec {
  kind: EntryKind;
  encoderName: string;
  options: EncoderOptions;
  /** Module to import first (a run-time registered encoder); '' for none. */
  module: string;
  dtype: FeatureDtype;
  dim: number;
  batchSize: number;
  /**
   * A joint encoder (several cache entries from one pass): the widths its row is cut into, one
   * chunk output per part. Absent: one output of `dim`.
   */
  split?: number[];
}

export interface ChunkComputer {
  /** One output per part of `split` (one without it). */
  computeChunk(records: MovieRecord[]): Promise<ChunkOutput[]>;
  dispose(): void;
}

/** A sequence encoder (token ids for the recurrent models), adapted from the text module. */
export interface SequenceEncoder {
  name: string;
  key: string;
  vocabSize: number;
  /** As Encoder.bindRecords: the dataset's records, before `init`, in the planning thread only. */
  bindRecords?(records: readonly MovieRecord[]): void;
  /** As Encoder.inProcess. */
  inProcess?: boolean;
  init(): Promise<void>;
  encode(records: MovieRecord[]): Promise<Array<Int32Array | { error: string }>>;
  dispose(): void;
}

type SequenceEncoderFactory = (options?: EncoderOptions) => SequenceEncoder | Promise<SequenceEncoder>;
let sequenceFactory: SequenceEncoderFactory | null = null;
const namedSequenceFactories = new Map<string, SequenceEncoderFactory>();

/** Where plot sequences come from (set by src/features/sequences.ts). */
export function setSequenceEncoderFactory(f: SequenceEncoderFactory): void {
  sequenceFactory = f;
}
/** A sequence encoder under its own name (e.g. the HDF5 file's `sequences`). */
export function registerSequenceEncoder(name: string, f: SequenceEncoderFactory): void {
  namedSequenceFactories.set(name, f);
}
/** Modules that register named sequence encoders when imported. */
const SEQUENCE_MODULES: Record<string, string> = { 'hdf5-sequences': 'hdf5-encoders' };

/** The factory of sequence encoder `name` (the plot tokeniser for any other name), importing its module. */
export async function sequenceEncoderFactory(name: string): Promise<SequenceEncoderFactory | null> {
  const module = SEQUENCE_MODULES[name];
  if (module) {
    if (!namedSequenceFactories.has(name)) await import(siblingModule(import.meta.url, module).href);
    return namedSequenceFactories.get(name) ?? null;
  }
  if (!sequenceFactory) await import(siblingModule(import.meta.url, 'sequences').href);
  return sequenceFactory;
}

export async function buildComputer(spec: ComputerSpec, ready?: Encoder): Promise<ChunkComputer> {
  if (spec.module) await import(spec.module);
  if (spec.kind === 'sequence') {
    // Imported by URL: it pulls in the text module, which dense extraction never needs.
    const factory = await sequenceEncoderFactory(spec.encoderName);
    if (!factory) throw new Error('no sequence encoder is available (src/text is not installed)');
    const enc = await factory(spec.options);
    await enc.init();
    return {
      computeChunk: async (records) => [await computeSequenceChunk(enc, records, spec.batchSize)],
      dispose: () => enc.dispose(),
    };
  }
  let encoder = ready;
  if (!encoder) {
    await loadBuiltinEncoders();
    encoder = createEncoder(spec.encoderName, spec.options);
  }
  await encoder.init();
  const enc = encoder;
  return {
    computeChunk: (records) => computeDenseChunk(enc, records, spec),
    dispose: () => enc.dispose(),
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Encode in fixed batches (the same batches on every run, so results are reproducible). A batch
 * that throws is retried record by record, so one bad input costs only its own row.
 */
export async function encodeIsolating<T>(
  encode: (records: MovieRecord[]) => Promise<Array<T | { error: string }>>,
  records: MovieRecord[],
  batchSize: number,
): Promise<Array<T | { error: string }>> {
  const out: Array<T | { error: string }> = [];
  for (let b = 0; b < records.length; b += batchSize) {
    const batch = records.slice(b, b + batchSize);
    let results: Array<T | { error: string }>;
    try {
      results = await encode(batch);
    } catch (batchErr) {
      if (batch.length === 1) {
        results = [{ error: `encoder failed: ${message(batchErr)}` }];
      } else {
        results = [];
        for (const r of batch) {
          try {
            results.push(...(await encode([r])));
          } catch (err) {
            results.push({ error: `encoder failed: ${message(err)}` });
          }
        }
      }
    }
    if (results.length !== batch.length) {
      throw new Error(`encoder returned ${results.length} results for a batch of ${batch.length}`);
    }
    out.push(...results);
  }
  return out;
}

function isError(x: unknown): x is { error: string } {
  return typeof x === 'object' && x !== null && 'error' in x;
}

async function computeDenseChunk(
  encoder: Encoder,
  records: MovieRecord[],
  spec: ComputerSpec,
): Promise<ChunkOutput[]> {
  const results = await encodeIsolating((b) => encoder.encode(b), records, spec.batchSize);
  const rows = new Float32Array(records.length * spec.dim); // rows of missing records stay zero
  const errors: Record<string, string> = {};
  const contentHashes: Record<string, string> = {};
  results.forEach((res, i) => {
    const rec = records[i];
    // Recorded for a poster that failed too: 'content' freshness then knows it is the same file.
    if (encoder.modality === 'poster' && rec.posterPath) {
      try {
        contentHashes[rec.id] = sha256(readRegularSync(rec.posterPath));
      } catch {
        // vanished, or not a regular file (never read: a FIFO would block): no recorded hash
      }
    }
    if (isError(res)) {
      errors[rec.id] = res.error;
      return;
    }
    if (res.length !== spec.dim) {
      throw new Error(
        `encoder ${encoder.name} returned ${res.length} values for ${rec.id}, expected ${spec.dim}`,
      );
    }
    for (let j = 0; j < res.length; j++) {
      if (!Number.isFinite(res[j])) {
        errors[rec.id] = `encoder ${encoder.name} produced a non-finite value for this record`;
        return;
      }
    }
    rows.set(res, i * spec.dim);
  });
  if (!spec.split) return [{ bytes: encodeRows(rows, spec.dtype), errors, contentHashes }];
  // Cut each joint row into its parts; every part shares the records' errors and hashes.
  let offset = 0;
  return spec.split.map((width) => {
    const part = new Float32Array(records.length * width);
    for (let i = 0; i < records.length; i++)
      part.set(rows.subarray(i * spec.dim + offset, i * spec.dim + offset + width), i * width);
    offset += width;
    return {
      bytes: encodeRows(part, spec.dtype),
      errors: { ...errors },
      contentHashes: { ...contentHashes },
    };
  });
}

async function computeSequenceChunk(
  encoder: SequenceEncoder,
  records: MovieRecord[],
  batchSize: number,
): Promise<ChunkOutput> {
  const results = await encodeIsolating((b) => encoder.encode(b), records, batchSize);
  const seqs: Int32Array[] = [];
  const errors: Record<string, string> = {};
  results.forEach((res, i) => {
    if (isError(res)) {
      errors[records[i].id] = res.error;
      seqs.push(new Int32Array(0));
    } else seqs.push(res);
  });
  const values = seqs.reduce((a, s) => a + s.length, 0);
  return { bytes: packSequenceChunk(seqs), errors, contentHashes: {}, values };
}
