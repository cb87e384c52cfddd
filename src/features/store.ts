/**
 * The on-disk feature cache: where an extraction's rows live, how a finished matrix is read
 * back as a view, and how a partial one is resumed.
 *
 * Layout (one "entry" per dataset × encoder × options × dtype):
 *   <cacheDir>/features/<dataset>-<datasetHash>/<encoder>-<entryHash>/
 *     manifest.json        identity, ids, shape, dtype, per-record sources, missing, chunks
 *     matrix.f32|.f16|.i32 the finished rows, row-major, little-endian, one file
 *     chunks/000012.bin    rows of chunk 12 while the extraction is in progress
 *     chunks/000012.json   its record (rows, byte length, sha256, sources hash, errors), written
 *                          only after the .bin is complete, so a chunk without one is ignored
 *     lock                 pid of the process extracting now
 *
 * Dataset identity = resolved root path + sha256 of the ordered ids (the entry directory).
 * Source freshness is checked per chunk, not per directory: each record's input gets a cheap
 * stamp (poster: size + mtime from one stat; text inputs: a hash of the text, which is already in
 * memory), and a chunk's record keeps the hash of its rows' stamps. Replacing one poster
 * therefore recomputes only its chunk. The sha256 of each poster file is recorded too (per chunk
 * and in the manifest). Freshness 'stat' (the default) compares stamps only, so a poster replaced
 * by other bytes of the same size and mtime goes unnoticed; 'content' also hashes every poster
 * on each run and compares with the recorded hash (docs/cache.md has the cost of each).
 */
import { acquireFileLock } from '../util/lock.js';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dataset, MovieRecord } from '../data/types.js';
import { hdf5SourceOf, hdf5Stamp } from '../data/hdf5-source.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { readRegularFile } from '../util/regular-file.js';
import { fromFloat16, toFloat16 } from './float16.js';
import type { Encoder, FeatureMatrix, Modality, SequenceFeatures } from './types.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

export const MANIFEST_FORMAT = 'mmgenre-features';
/** Bump when the on-disk layout changes: old entries are then recomputed, never misread. */
export const MANIFEST_VERSION = 1;

export type FeatureDtype = 'float32' | 'float16';

/**
 * How a cached row is judged current: 'stat' by each poster's size and mtime (one stat per
 * poster), 'content' by that and the sha256 of its bytes (reads every poster on each run).
 * Text inputs are always compared by a hash of the text.
 */
export type Freshness = 'stat' | 'content';
export const FRESHNESS_MODES: readonly Freshness[] = ['stat', 'content'];
export type EntryKind = 'dense' | 'sequence';

/** What a record's input looked like when its row was computed. */
export interface SourceStamp {
  /** Poster path, when the input is a file. */
  path?: string;
  size?: number;
  mtimeMs?: number;
  /** sha256 of the input: file bytes (recorded after extraction) or the text. */
  sha256?: string;
  /** Compact form compared on every run. 'none' when the record has no such input. */
  stamp: string;
}

export interface ChunkRecord {
  index: number;
  /** Rows [start, end) of the matrix. */
  start: number;
  end: number;
  /** Byte length and sha256 of the chunk's bytes (also of its slice of the finished matrix). */
  bytes: number;
  sha256: string;
  /** Hash of the stamps of its rows' inputs when computed. */
  sourcesHash: string;
  /** Per-record errors: id → message (those rows are zeros and flagged missing). */
  errors: Record<string, string>;
  /** sha256 of poster files read for this chunk: id → hash. */
  contentHashes: Record<string, string>;
  /** Sequence chunks: number of int32 values (after the per-row lengths). */
  values?: number;
}

export interface FeatureManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  kind: EntryKind;
  dataset: { name: string; root: string; format: string; idsHash: string; rows: number };
  encoder: { name: string; key: string; modality: Modality; options: Record<string, unknown> };
  dtype: FeatureDtype | 'int32';
  dim: number;
  rowShape: number[];
  /** Sequences: vocabulary size. */
  vocabSize?: number;
  chunkRows: number;
  batchSize: number;
  ids: string[];
  complete: boolean;
  /** Finished matrix file name, byte length; chunk hashes cover its slices. */
  matrix?: { file: string; bytes: number };
  chunks: ChunkRecord[];
  /** id → message for every record without a row. */
  missing: Record<string, string>;
  sources: Record<string, SourceStamp>;
  createdAt: string;
  completedAt?: string;
  /** Seconds spent computing rows, summed over runs (resumed runs included). */
  computeSeconds: number;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The cache entry's identity, before anything is computed. */
export interface EntryIdentity {
  kind: EntryKind;
  dataset: Pick<Dataset, 'name' | 'root' | 'format'>;
  ids: string[];
  encoder: Pick<Encoder, 'name' | 'key' | 'modality'>;
  options: Record<string, unknown>;
  dtype: FeatureDtype | 'int32';
}

function slug(s: string): string {
  return (
    s
      .replace(/[^A-Za-z0-9._-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'x'
  );
}

/** JSON with sorted keys, so equal options always hash alike. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Options that change what is computed. `cacheDir` (where an encoder keeps its own caches,
 * such as the GloVe binary) changes nothing in the output, so it does not split the cache.
 */
export function identityOptions(options: Record<string, unknown>): Record<string, unknown> {
  const { cacheDir: _cacheDir, ...rest } = options;
  return rest;
}

export function idsHash(ids: string[]): string {
  return sha256(ids.join('\n'));
}

/** Directory of an entry: a pure function of its identity. */
export function entryDir(cacheDir: string, id: EntryIdentity): string {
  const root = resolve(id.dataset.root);
  const datasetHash = sha256(`${root}\n${idsHash(id.ids)}`).slice(0, 12);
  const entryHash = sha256(
    stableJson({
      v: MANIFEST_VERSION,
      kind: id.kind,
      key: id.encoder.key,
      name: id.encoder.name,
      options: identityOptions(id.options),
      dtype: id.dtype,
    }),
  ).slice(0, 12);
  return join(
    resolve(cacheDir),
    'features',
    `${slug(id.dataset.name)}-${datasetHash}`,
    `${slug(id.encoder.name)}-${entryHash}`,
  );
}

/** The input a modality reads, per record. */
export function sourceStamps(records: MovieRecord[], modality: Modality): SourceStamp[] {
  const fileStamps = new Map<string, string>();
  return records.map((r) => {
    // A movie of an HDF5 file: every input is a row of that file, stale when the file changes.
    const h5 = hdf5SourceOf(r);
    if (h5) {
      let s = fileStamps.get(h5.file);
      if (s === undefined) fileStamps.set(h5.file, (s = hdf5Stamp(h5.file)));
      return { stamp: `${s}:${h5.index}` };
    }
    switch (modality) {
      case 'poster': {
        if (!r.posterPath) return { stamp: 'none' };
        try {
          const st = statSync(r.posterPath);
          return {
            path: r.posterPath,
            size: st.size,
            mtimeMs: st.mtimeMs,
            stamp: `${st.size}:${Math.round(st.mtimeMs)}`,
          };
        } catch {
          return { path: r.posterPath, stamp: 'unreadable' };
        }
      }
      case 'plot':
        return textStamp(r.plot);
      case 'title':
        return textStamp(r.title ?? null);
      case 'companies':
        return textStamp(r.companies ? JSON.stringify(r.companies) : null);
    }
  });
}

/**
 * For 'content' freshness: the sha256 of each record's poster file (null when the modality is
 * not the poster, the record has none, it lives in an HDF5 file, or it cannot be read now).
 * Only regular files are read; a few at a time, off the event loop.
 */
export async function posterContentHashes(
  records: MovieRecord[],
  modality: Modality,
): Promise<Array<string | null>> {
  const out = new Array<string | null>(records.length).fill(null);
  if (modality !== 'poster') return out;
  let next = 0;
  const reader = async (): Promise<void> => {
    for (let i = next++; i < records.length; i = next++) {
      const path = records[i].posterPath;
      if (!path || hdf5SourceOf(records[i])) continue;
      try {
        out[i] = sha256(await readRegularFile(path));
      } catch {
        out[i] = null; // unreadable: its stat stamp says so already
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, reader));
  return out;
}

/** Do the poster hashes recorded with a chunk match the files' bytes now? */
export function contentMatches(
  rec: Pick<ChunkRecord, 'start' | 'end' | 'contentHashes'>,
  ids: string[],
  content: Array<string | null>,
): boolean {
  for (let i = rec.start; i < rec.end; i++) {
    const now = content[i];
    if (now !== null && rec.contentHashes?.[ids[i]] !== now) return false;
  }
  return true;
}

function textStamp(text: string | null): SourceStamp {
  if (text === null || text === undefined) return { stamp: 'none' };
  const h = sha256(text);
  return { sha256: h, stamp: h.slice(0, 16) };
}

export function chunkSourcesHash(stamps: SourceStamp[], start: number, end: number): string {
  return sha256(
    stamps
      .slice(start, end)
      .map((s) => s.stamp)
      .join('\n'),
  );
}

export function chunkName(index: number): string {
  return index.toString().padStart(6, '0');
}

export function matrixFileName(dtype: FeatureManifest['dtype']): string {
  return dtype === 'float16' ? 'matrix.f16' : dtype === 'int32' ? 'matrix.i32' : 'matrix.f32';
}

export function bytesPerValue(dtype: FeatureManifest['dtype']): number {
  return dtype === 'float16' ? 2 : 4;
}

/** Encode rows (float32 from the encoder) in the entry's dtype. */
export function encodeRows(rows: Float32Array, dtype: FeatureDtype): Uint8Array {
  const typed = dtype === 'float16' ? toFloat16(rows) : rows;
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

export function readManifest(dir: string): FeatureManifest | null {
  const p = join(dir, 'manifest.json');
  if (!existsSync(p)) return null;
  try {
    const m = JSON.parse(readFileSync(p, 'utf8')) as FeatureManifest;
    if (m.format !== MANIFEST_FORMAT || m.version !== MANIFEST_VERSION) return null;
    return m;
  } catch {
    return null; // an unreadable manifest is treated as absent: the entry is recomputed
  }
}

export function writeManifest(dir: string, m: FeatureManifest): void {
  writeJsonAtomic(join(dir, 'manifest.json'), m);
}

/** Read a file into a buffer whose offset suits a 4-byte typed array view. */
function readAligned(path: string): Buffer {
  const buf = readFileSync(path);
  if (buf.byteOffset % 4 === 0) return buf;
  const copy = Buffer.alloc(buf.length);
  buf.copy(copy);
  return copy;
}

/** Chunk records found on disk (only those whose data file is present and matches). */
export function readChunkRecords(dir: string, verify: boolean): Map<number, ChunkRecord> {
  return inspectChunkRecords(dir, verify).good;
}

/**
 * Chunk records on disk: `good` (data file present, size and, with `verify`, sha256 as
 * recorded) and the indexes of `damaged` ones (data file missing, cut short or altered).
 */
export function inspectChunkRecords(
  dir: string,
  verify: boolean,
): { good: Map<number, ChunkRecord>; damaged: Set<number> } {
  const good = new Map<number, ChunkRecord>();
  const damaged = new Set<number>();
  const cdir = join(dir, 'chunks');
  if (!existsSync(cdir)) return { good, damaged };
  for (const f of readdirSync(cdir)) {
    if (!f.endsWith('.json')) continue;
    let rec: ChunkRecord;
    try {
      rec = JSON.parse(readFileSync(join(cdir, f), 'utf8')) as ChunkRecord;
    } catch {
      continue; // a record is written after its data, atomically: an unreadable one is not ours
    }
    const bin = join(cdir, `${chunkName(rec.index)}.bin`);
    let intact = existsSync(bin);
    if (intact && verify) {
      const data = readFileSync(bin);
      intact = data.length === rec.bytes && sha256(data) === rec.sha256;
    } else if (intact) intact = statSync(bin).size === rec.bytes;
    if (intact) good.set(rec.index, rec);
    else damaged.add(rec.index);
  }
  return { good, damaged };
}

export function readChunkData(dir: string, index: number): Buffer {
  return readFileSync(join(dir, 'chunks', `${chunkName(index)}.bin`));
}

/** Write one chunk: data first, then its record; both atomically. */
export function writeChunk(dir: string, rec: ChunkRecord, data: Uint8Array): void {
  writeFileAtomic(join(dir, 'chunks', `${chunkName(rec.index)}.bin`), data);
  writeJsonAtomic(join(dir, 'chunks', `${chunkName(rec.index)}.json`), rec);
}

export function removeChunks(dir: string): void {
  rmSync(join(dir, 'chunks'), { recursive: true, force: true });
}

/** Remove temp files a killed writer left behind. */
export function removeStaleTemps(dir: string): void {
  for (const d of [dir, join(dir, 'chunks')]) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)) if (f.endsWith('.tmp')) rmSync(join(d, f), { force: true });
  }
}

/**
 * Read a finished dense matrix as one buffer (a view: no per-row parse; float16 is widened to
 * float32 in one pass). With `verify`, each chunk's slice is checked against its sha256.
 */
export function readMatrix(dir: string, m: FeatureManifest, verify: boolean): FeatureMatrix {
  if (!m.complete || !m.matrix) throw new Error(`feature cache ${dir} is not complete`);
  const path = join(dir, m.matrix.file);
  const buf = readAligned(path);
  if (buf.length !== m.matrix.bytes) {
    throw new CorruptCacheError(`${path} has ${buf.length} bytes, the manifest says ${m.matrix.bytes}`);
  }
  if (verify) {
    const bad = corruptChunks(buf, m);
    if (bad.length) throw new CorruptCacheError(`${path}: chunk(s) ${bad.join(', ')} fail their checksum`);
  }
  const n = m.ids.length;
  const data =
    m.dtype === 'float16'
      ? fromFloat16(new Uint16Array(buf.buffer, buf.byteOffset, n * m.dim))
      : new Float32Array(buf.buffer, buf.byteOffset, n * m.dim);
  return { ids: m.ids, dim: m.dim, data, missing: missingFlags(m), rowShape: m.rowShape };
}

/** Chunks whose slice of the finished file does not match its checksum. */
export function corruptChunks(buf: Uint8Array, m: FeatureManifest): number[] {
  const bad: number[] = [];
  let offset = 0;
  for (const c of m.chunks) {
    const slice = buf.subarray(offset, offset + c.bytes);
    if (slice.length !== c.bytes || sha256(slice) !== c.sha256) bad.push(c.index);
    offset += c.bytes;
  }
  return bad;
}

export function missingFlags(m: FeatureManifest): Uint8Array {
  const flags = new Uint8Array(m.ids.length);
  const index = new Map(m.ids.map((id, i) => [id, i]));
  for (const id of Object.keys(m.missing)) {
    const i = index.get(id);
    if (i !== undefined) flags[i] = 1;
  }
  return flags;
}

/**
 * Sequence files: per chunk (and for the whole matrix) `lengths` (int32 × rows) then the values
 * (int32). Read back as one Int32Array; each sequence is a subarray view.
 */
export function readSequences(dir: string, m: FeatureManifest, verify: boolean): SequenceFeatures {
  if (!m.complete || !m.matrix) throw new Error(`feature cache ${dir} is not complete`);
  const path = join(dir, m.matrix.file);
  const buf = readAligned(path);
  if (buf.length !== m.matrix.bytes) {
    throw new CorruptCacheError(`${path} has ${buf.length} bytes, the manifest says ${m.matrix.bytes}`);
  }
  if (verify) {
    const bad = corruptChunks(buf, m);
    if (bad.length) throw new CorruptCacheError(`${path}: chunk(s) ${bad.join(', ')} fail their checksum`);
  }
  const all = new Int32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const sequences: Int32Array[] = [];
  let p = 0;
  for (const c of m.chunks) {
    const rows = c.end - c.start;
    const lengths = all.subarray(p, p + rows);
    let v = p + rows;
    for (let r = 0; r < rows; r++) {
      sequences.push(all.subarray(v, v + lengths[r]));
      v += lengths[r];
    }
    p = v;
  }
  return { ids: m.ids, sequences, missing: missingFlags(m), vocabSize: m.vocabSize ?? 0 };
}

export function packSequenceChunk(seqs: Int32Array[]): Uint8Array {
  const total = seqs.reduce((a, s) => a + s.length, 0);
  const out = new Int32Array(seqs.length + total);
  let v = seqs.length;
  seqs.forEach((s, i) => {
    out[i] = s.length;
    out.set(s, v);
    v += s.length;
  });
  return new Uint8Array(out.buffer);
}

export class CorruptCacheError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('prerequisite', message, options);
  }
}

/**
 * Concatenate chunk bytes into the finished file, streaming (never two copies of the matrix in
 * memory), through a temp file + fsync + rename like every other write here.
 */
export function writeMatrixFile(path: string, parts: Iterable<Uint8Array>): number {
  const tmp = `${path}.${process.pid}.tmp`;
  let bytes = 0;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const part of parts) {
        let off = 0;
        while (off < part.length) off += writeSync(fd, part, off, part.length - off);
        bytes += part.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return bytes;
}

/** Size on disk of an entry (all files). */
export function entrySize(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else total += statSync(p).size;
    }
  };
  if (existsSync(dir)) walk(dir);
  return total;
}

/** Every entry under a cache dir, with its manifest (null when unreadable or partial-without-one). */
export function listEntries(cacheDir: string): Array<{ dir: string; manifest: FeatureManifest | null }> {
  const root = join(resolve(cacheDir), 'features');
  if (!existsSync(root)) return [];
  const out: Array<{ dir: string; manifest: FeatureManifest | null }> = [];
  for (const ds of readdirSync(root, { withFileTypes: true })) {
    if (!ds.isDirectory()) continue;
    for (const en of readdirSync(join(root, ds.name), { withFileTypes: true })) {
      if (!en.isDirectory()) continue;
      const dir = join(root, ds.name, en.name);
      out.push({ dir, manifest: readManifest(dir) });
    }
  }
  return out.sort((a, b) => a.dir.localeCompare(b.dir));
}

/**
 * The entry's lock (src/util/lock.ts: host, pid, thread, process start time, heartbeat). A lock
 * whose holder is gone (killed, SIGKILL included, or a pid since reused) is taken over: that is
 * the resume path. A live holder (another process, or another thread of this one, e.g. parallel
 * trainings needing the same features) is waited for, up to `waitMs` (default 30 min); the caller
 * then finds its work done, or gets an error naming the lock file to delete.
 */
export async function acquireLock(
  dir: string,
  opts: { waitMs?: number; staleMs?: number; onWait?: (holder: string) => void } = {},
): Promise<() => void> {
  mkdirSync(dir, { recursive: true });
  return acquireFileLock(join(dir, 'lock'), {
    purpose: 'feature extraction',
    waitMs: opts.waitMs ?? 30 * 60_000,
    staleMs: opts.staleMs,
    onWait: opts.onWait,
  });
}
