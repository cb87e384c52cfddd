/**
 * What an extraction has to do: each encoder's cache entry and its inputs (a Plan), and, under
 * the entry's lock, which of its chunks are already good and which are missing, stale or damaged
 * and must be computed (with why, for the report).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dataset, MovieRecord } from '../data/types.js';
import { env } from '../env.js';
import { sequenceEncoderFactory } from './compute.js';
import { normaliseSpec, resolveEncoder, workerModuleFor, type EncoderSpec } from './registry.js';
import {
  chunkSourcesHash,
  contentMatches,
  corruptChunks,
  entryDir,
  FRESHNESS_MODES,
  idsHash,
  inspectChunkRecords,
  posterContentHashes,
  readManifest,
  removeChunks,
  removeStaleTemps,
  sourceStamps,
  writeManifest,
  type ChunkRecord,
  type EntryIdentity,
  type EntryKind,
  type FeatureDtype,
  type FeatureManifest,
  type Freshness,
  type SourceStamp,
} from './store.js';
import type { Encoder, Modality } from './types.js';
import type { RecomputeReason } from './recompute.js';
import { MmgenreError } from '../util/errors.js';

export interface Plan {
  kind: EntryKind;
  dir: string;
  identity: EntryIdentity;
  encoderName: string;
  encoderKey: string;
  modality: Modality;
  options: Record<string, unknown>;
  dtype: FeatureDtype | 'int32';
  dim: number;
  rowShape: number[];
  vocabSize?: number;
  stamps: SourceStamp[];
  freshness: Freshness;
  /** 'content' freshness: each record's poster sha256 now (null: none, or not compared). */
  content: Array<string | null>;
  /** A main-thread encoder already initialised (to learn its key), reused in-process. */
  ready?: Encoder;
  /** Module workers import to build a run-time encoder ('' built-in, null: main thread only). */
  workerModule: string | null;
}

function cacheDirOf(opts: { cacheDir?: string }): string {
  return resolve(opts.cacheDir ?? env.cacheDir);
}

function freshnessOf(opts: { freshness?: Freshness }): Freshness {
  const mode = opts.freshness ?? env.featureFreshness;
  if (!(FRESHNESS_MODES as readonly string[]).includes(mode)) {
    throw new MmgenreError(
      'input',
      `feature freshness must be ${FRESHNESS_MODES.join(' or ')}, got '${mode}'` +
        (opts.freshness === undefined ? ' (from MMGENRE_FEATURE_FRESHNESS)' : ''),
    );
  }
  return mode as Freshness;
}

/** Stamps (and, for 'content' freshness, poster hashes) of the records' inputs. */
async function sourcesOf(
  records: MovieRecord[],
  modality: Modality,
  freshness: Freshness,
): Promise<Pick<Plan, 'stamps' | 'freshness' | 'content'>> {
  return {
    stamps: sourceStamps(records, modality),
    freshness,
    content:
      freshness === 'content'
        ? await posterContentHashes(records, modality)
        : new Array<string | null>(records.length).fill(null),
  };
}

export async function planDense(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: { cacheDir?: string; dtype?: FeatureDtype; freshness?: Freshness },
): Promise<Plan> {
  const freshness = freshnessOf(opts);
  const { name, options } = normaliseSpec(spec);
  const encoder = await resolveEncoder({ name, options });
  let ready: Encoder | undefined;
  encoder.bindRecords?.(dataset.records);
  // Some encoders only know their key (weights, resolved layer) and dim after loading, or after
  // reading the dataset they were bound to.
  if (!encoder.key || !(encoder.dim > 0) || encoder.bindRecords) {
    await encoder.init();
    ready = encoder;
  }
  const dtype = opts.dtype ?? 'float32';
  const identity: EntryIdentity = {
    kind: 'dense',
    dataset,
    ids: dataset.records.map((r) => r.id),
    encoder,
    options,
    dtype,
  };
  const plan: Plan = {
    kind: 'dense',
    dir: entryDir(cacheDirOf(opts), identity),
    identity,
    encoderName: name,
    encoderKey: encoder.key,
    modality: encoder.modality,
    options,
    dtype,
    dim: encoder.dim,
    rowShape: encoder.rowShape.length ? encoder.rowShape : [encoder.dim],
    ...(await sourcesOf(dataset.records, encoder.modality, freshness)),
    ready,
    workerModule: encoder.inProcess ? null : workerModuleFor(name),
  };
  if (!ready) encoder.dispose();
  return plan;
}

export async function planSequences(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: { cacheDir?: string; freshness?: Freshness },
): Promise<Plan> {
  const freshness = freshnessOf(opts);
  const { name, options } = normaliseSpec(spec);
  const factory = await sequenceEncoderFactory(name);
  if (!factory) throw new Error('plot sequences need the text module (src/text), which is not available');
  const enc = await factory(options);
  enc.bindRecords?.(dataset.records);
  await enc.init(); // the vocabulary defines the key and vocabSize
  const identity: EntryIdentity = {
    kind: 'sequence',
    dataset,
    ids: dataset.records.map((r) => r.id),
    encoder: { name, key: enc.key, modality: 'plot' },
    options,
    dtype: 'int32',
  };
  const plan: Plan = {
    kind: 'sequence',
    dir: entryDir(cacheDirOf(opts), identity),
    identity,
    encoderName: name,
    encoderKey: enc.key,
    modality: 'plot',
    options,
    dtype: 'int32',
    dim: 0,
    rowShape: [],
    vocabSize: enc.vocabSize,
    ...(await sourcesOf(dataset.records, 'plot', freshness)),
    workerModule: enc.inProcess ? null : '',
  };
  enc.dispose();
  return plan;
}

export interface ChunkSlot {
  index: number;
  start: number;
  end: number;
}

function chunkSlots(rows: number, chunkRows: number): ChunkSlot[] {
  const out: ChunkSlot[] = [];
  for (let s = 0, i = 0; s < rows; s += chunkRows, i++)
    out.push({ index: i, start: s, end: Math.min(rows, s + chunkRows) });
  return out;
}

/** Why a computed chunk no longer matches its inputs, or null when it is current. */
function staleness(
  c: ChunkRecord,
  plan: Plan,
  fresh = chunkSourcesHash(plan.stamps, c.start, c.end),
): RecomputeReason | null {
  if (c.sourcesHash !== fresh) return 'stale-source';
  if (plan.freshness === 'content' && !contentMatches(c, plan.identity.ids, plan.content))
    return 'stale-content';
  return null;
}

/** Chunks of a finished manifest whose inputs changed since they were computed. */
export function staleChunks(m: FeatureManifest, plan: Plan): number[] {
  return m.chunks.filter((c) => staleness(c, plan) !== null).map((c) => c.index);
}

function newManifest(dataset: Dataset, plan: Plan, chunkRows: number, batchSize: number): FeatureManifest {
  return {
    format: 'mmgenre-features',
    version: 1,
    kind: plan.kind,
    dataset: {
      name: dataset.name,
      root: resolve(dataset.root),
      format: dataset.format,
      idsHash: idsHash(plan.identity.ids),
      rows: plan.identity.ids.length,
    },
    encoder: { name: plan.encoderName, key: plan.encoderKey, modality: plan.modality, options: plan.options },
    dtype: plan.dtype,
    dim: plan.dim,
    rowShape: plan.rowShape,
    vocabSize: plan.vocabSize,
    chunkRows,
    batchSize,
    ids: plan.identity.ids,
    complete: false,
    chunks: [],
    missing: {},
    sources: {},
    createdAt: new Date().toISOString(),
    computeSeconds: 0,
  };
}

/** Is the manifest's shape the plan's (same ids, encoder key, dim, dtype)? Otherwise start over. */
function compatible(m: FeatureManifest, plan: Plan): boolean {
  return (
    m.kind === plan.kind &&
    m.encoder.key === plan.encoderKey &&
    m.dtype === plan.dtype &&
    m.dim === plan.dim &&
    m.ids.length === plan.identity.ids.length &&
    m.ids.every((id, i) => id === plan.identity.ids[i])
  );
}

const DEFAULT_CHUNK_ROWS = 64;
const DEFAULT_BATCH = 16;

/** An entry whose lock is held: what is already good and what is left to compute. */
export interface OpenEntry {
  index: number;
  plan: Plan;
  base: FeatureManifest;
  slots: ChunkSlot[];
  done: Map<number, { rec: ChunkRecord; source: 'chunk' | 'matrix' }>;
  pending: Set<number>;
  pendingRows: number;
  /** Pending chunks that were cached before, and why each is computed again. */
  recompute: Map<number, RecomputeReason>;
}

/** A finished entry whose every chunk is fresh and whose matrix is intact, or null. */
export function finishedEntry(plan: Plan, verify: boolean): FeatureManifest | null {
  let m = readManifest(plan.dir);
  if (m && !compatible(m, plan)) m = null;
  return m?.complete && staleChunks(m, plan).length === 0 && matrixIntact(plan.dir, m, verify) ? m : null;
}

/** Under the entry's lock: start or reuse its manifest and find the chunks still to compute. */
export function openEntry(
  dataset: Dataset,
  plan: Plan,
  index: number,
  opts: { chunkRows?: number; batchSize?: number },
  verify: boolean,
): OpenEntry {
  let manifest = readManifest(plan.dir);
  if (manifest && !compatible(manifest, plan)) manifest = null;
  removeStaleTemps(plan.dir);
  const chunkRows = manifest?.chunkRows ?? opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const batchSize = manifest?.batchSize ?? opts.batchSize ?? DEFAULT_BATCH;
  const base = manifest ?? newManifest(dataset, plan, chunkRows, batchSize);
  if (!manifest) {
    removeChunks(plan.dir); // chunks of an incompatible or unreadable earlier entry
    writeManifest(plan.dir, base);
  }
  const slots = chunkSlots(plan.identity.ids.length, chunkRows);
  // What is already good: chunk files on disk, or slices of an earlier finished matrix. What was
  // cached but is stale or damaged is noted, so that its recomputation is reported.
  const onDisk = inspectChunkRecords(plan.dir, verify);
  const fromMatrix = matrixChunks(plan.dir, base);
  const done = new Map<number, { rec: ChunkRecord; source: 'chunk' | 'matrix' }>();
  const recompute = new Map<number, RecomputeReason>();
  for (const s of slots) {
    const fresh = chunkSourcesHash(plan.stamps, s.start, s.end);
    const c = onDisk.good.get(s.index);
    const candidates: Array<[ChunkRecord | undefined, 'chunk' | 'matrix']> = [
      [c && c.start === s.start && c.end === s.end ? c : undefined, 'chunk'],
      [fromMatrix.good.get(s.index), 'matrix'],
    ];
    let why: RecomputeReason | undefined;
    for (const [rec, source] of candidates) {
      if (!rec) continue;
      const stale = staleness(rec, plan, fresh);
      if (stale === null) {
        done.set(s.index, { rec, source });
        break;
      }
      why ??= stale;
    }
    if (done.has(s.index)) continue;
    why ??= onDisk.damaged.has(s.index) ? 'checksum' : fromMatrix.damaged.get(s.index);
    if (why) recompute.set(s.index, why);
  }
  const pending = slots.filter((s) => !done.has(s.index));
  return {
    recompute,
    index,
    plan,
    base,
    slots,
    done,
    pending: new Set(pending.map((s) => s.index)),
    pendingRows: pending.reduce((a, s) => a + s.end - s.start, 0),
  };
}

function matrixIntact(dir: string, m: FeatureManifest, verify: boolean): boolean {
  if (!m.matrix) return false;
  const p = join(dir, m.matrix.file);
  if (!existsSync(p)) return false;
  const buf = readFileSync(p);
  if (buf.length !== m.matrix.bytes) return false;
  return !verify || corruptChunks(buf, m).length === 0;
}

/**
 * Chunk records of an earlier finished matrix: `good` when their slice still matches its
 * checksum, else `damaged` with the reason (altered bytes, or the file is gone).
 */
function matrixChunks(
  dir: string,
  m: FeatureManifest,
): { good: Map<number, ChunkRecord>; damaged: Map<number, RecomputeReason> } {
  const good = new Map<number, ChunkRecord>();
  const damaged = new Map<number, RecomputeReason>();
  if (!m.complete || !m.matrix) return { good, damaged };
  if (!existsSync(join(dir, m.matrix.file))) {
    for (const c of m.chunks) damaged.set(c.index, 'missing-file');
    return { good, damaged };
  }
  const buf = readFileSync(join(dir, m.matrix.file));
  const bad = new Set(corruptChunks(buf, m));
  for (const c of m.chunks) {
    if (bad.has(c.index)) damaged.set(c.index, 'checksum');
    else good.set(c.index, c);
  }
  return { good, damaged };
}
