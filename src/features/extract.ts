/**
 * Feature extraction into the cache: computes only the chunks that are missing or stale, on
 * worker threads (chunks handed out one at a time to whichever worker is free), and reads the
 * finished matrix back as a view. Killed at any point, the next run resumes from the chunks
 * on disk and produces the same bytes (chunk boundaries and encoder batches never depend on
 * which worker or which run computed them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Dataset, MovieRecord } from '../data/types.js';
import { env } from '../env.js';
import { progress as progressBar } from '../util/progress.js';
import { defaultWorkers, exitOrTerminate, siblingModule, startWorker } from '../util/workers.js';
import { buildComputer, sequenceEncoderFactory, type ChunkOutput, type ComputerSpec } from './compute.js';
import {
  jointGroupOf,
  jointOptionsOf,
  normaliseSpec,
  resolveEncoder,
  workerModuleFor,
  type EncoderSpec,
} from './registry.js';
import {
  acquireLock,
  bytesPerValue,
  chunkSourcesHash,
  contentMatches,
  corruptChunks,
  entryDir,
  FRESHNESS_MODES,
  idsHash,
  inspectChunkRecords,
  matrixFileName,
  posterContentHashes,
  readChunkData,
  readManifest,
  readMatrix,
  readSequences,
  removeChunks,
  removeStaleTemps,
  sha256,
  sourceStamps,
  stableJson,
  writeChunk,
  writeManifest,
  writeMatrixFile,
  CorruptCacheError,
  type ChunkRecord,
  type EntryIdentity,
  type EntryKind,
  type FeatureDtype,
  type FeatureManifest,
  type Freshness,
  type SourceStamp,
} from './store.js';
import type { Encoder, FeatureMatrix, Modality, SequenceFeatures } from './types.js';
import { recomputeText } from './summary.js';
import { MmgenreError } from '../util/errors.js';

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

export interface MissingReason {
  reason: string;
  count: number;
  example: { id: string; message: string };
}

/** Why a chunk that was cached had to be computed again. */
export type RecomputeReason = 'stale-source' | 'stale-content' | 'checksum' | 'missing-file';

/** Cached chunks this call computed again (chunks never computed before are not counted). */
export interface RecomputedChunks {
  chunks: number;
  rows: number;
  reasons: Array<{ reason: RecomputeReason; chunks: number; rows: number }>;
}

export interface ExtractReport {
  dir: string;
  encoder: string;
  rows: number;
  dim: number;
  rowShape: number[];
  dtype: string;
  missing: number;
  missingReasons: MissingReason[];
  /** Rows computed by this call (0: nothing to do) and rows found in the cache. */
  computedRows: number;
  reusedRows: number;
  /** Of the computed rows: those that were cached but stale or damaged, and why. */
  recomputed: RecomputedChunks;
  /** How cached rows were judged current. */
  freshness: Freshness;
  noop: boolean;
  workers: number;
  seconds: number;
  /** Rows computed per second of this call (0 when nothing was computed). */
  rowsPerSecond: number;
  /** Set when the rows were computed elsewhere (ChunkRunner.label: e.g. a queue). */
  computedOn?: string;
}

export interface ExtractResult {
  features: FeatureMatrix;
  report: ExtractReport;
}

const DEFAULT_CHUNK_ROWS = 64;
const DEFAULT_BATCH = 16;

/** Compute (what is missing of) an encoder's features for every record of a dataset. */
export async function extractFeatures(
  dataset: Dataset,
  encoder: EncoderSpec,
  opts: ExtractOptions = {},
): Promise<FeatureMatrix> {
  return (await extractFeaturesWithReport(dataset, encoder, opts)).features;
}

export async function extractFeaturesWithReport(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const t0 = performance.now();
  const plan = await planDense(dataset, spec, opts);
  const [report] = await runPlans(dataset, [plan], opts, t0);
  const m = readManifest(plan.dir)!;
  return { features: readMatrix(plan.dir, m, false), report };
}

/**
 * Several encoders' features at once, one result per spec in order. Variants of one encoder that
 * it can compute in one pass (two layers of one network on the same image: see
 * EncoderFactory.jointGroup) are computed together, each poster read and run through the network
 * once for all of them; their cache entries are the same as those of one-by-one extraction.
 */
export async function extractFeatureSet(
  dataset: Dataset,
  specs: EncoderSpec[],
  opts: ExtractOptions = {},
): Promise<ExtractResult[]> {
  const t0 = performance.now();
  const plans: Plan[] = [];
  for (const spec of specs) plans.push(await planDense(dataset, spec, opts));
  // The same entry asked for twice is computed once.
  const byDir = new Map<string, number>();
  const groups = new Map<string, number[]>();
  plans.forEach((plan, k) => {
    if (byDir.has(plan.dir)) {
      plan.ready?.dispose();
      return;
    }
    byDir.set(plan.dir, k);
    // A queue (runner) computes one entry per job: no joining there.
    const joint = opts.runner ? null : jointGroupOf(plan.encoderName, plan.options);
    const key = joint === null ? `#${k}` : JSON.stringify([plan.encoderName, joint]);
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  const reports = new Map<number, ExtractReport>();
  for (const members of groups.values()) {
    const rs = await runPlans(
      dataset,
      members.map((k) => plans[k]),
      opts,
      t0,
    );
    members.forEach((k, j) => reports.set(k, rs[j]));
  }
  return plans.map((plan) => {
    const report = reports.get(byDir.get(plan.dir)!)!;
    return { features: readMatrix(plan.dir, readManifest(plan.dir)!, false), report };
  });
}

/** Token-id sequences of the plots (for the recurrent models), cached like dense features. */
export async function extractSequences(
  dataset: Dataset,
  opts: ExtractOptions & { encoder?: EncoderSpec } = {},
): Promise<SequenceFeatures> {
  return (await extractSequencesWithReport(dataset, opts)).features;
}

export async function extractSequencesWithReport(
  dataset: Dataset,
  opts: ExtractOptions & { encoder?: EncoderSpec } = {},
): Promise<{ features: SequenceFeatures; report: ExtractReport }> {
  const t0 = performance.now();
  const plan = await planSequences(dataset, opts.encoder ?? SEQUENCE_ENCODER, opts);
  const [report] = await runPlans(dataset, [plan], opts, t0);
  const m = readManifest(plan.dir)!;
  return { features: readSequences(plan.dir, m, false), report };
}

/** Name under which `features extract` offers plot token sequences. */
export const SEQUENCE_ENCODER = 'plot-sequences';

export class FeaturesNotCachedError extends MmgenreError {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super('prerequisite', message, { hint: `compute them first: ${command}` });
  }
}

/** Read cached features without computing anything; throws naming the command that computes them. */
export async function loadFeatures(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: Pick<ExtractOptions, 'cacheDir' | 'dtype' | 'verify' | 'freshness'> = {},
): Promise<FeatureMatrix> {
  const plan = await planDense(dataset, spec, opts);
  const m = checkLoadable(dataset, plan, spec, opts);
  return readMatrix(plan.dir, m, opts.verify ?? true);
}

export async function loadSequences(
  dataset: Dataset,
  opts: Pick<ExtractOptions, 'cacheDir' | 'verify' | 'freshness'> & { encoder?: EncoderSpec } = {},
): Promise<SequenceFeatures> {
  const spec = opts.encoder ?? SEQUENCE_ENCODER;
  const plan = await planSequences(dataset, spec, opts);
  const m = checkLoadable(dataset, plan, spec, opts);
  return readSequences(plan.dir, m, opts.verify ?? true);
}

/** The CLI command that fills a cache entry. */
export function extractCommand(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: { dtype?: string; cacheDir?: string } = {},
): string {
  const { name, options } = normaliseSpec(spec);
  const parts = ['mmgenre features extract', `--data ${shellQuote(dataset.root)}`, `--encoder ${name}`];
  for (const [k, v] of Object.entries(options)) {
    if (k === 'layer') parts.push(`--layer ${shellQuote(String(v))}`);
    else if (k === 'flip') {
      if (v) parts.push('--flip');
    } else parts.push(`--opt ${shellQuote(`${k}=${JSON.stringify(v)}`)}`);
  }
  if (opts.dtype && opts.dtype !== 'float32') parts.push(`--dtype ${opts.dtype}`);
  if (opts.cacheDir && resolve(opts.cacheDir) !== env.cacheDir)
    parts.push(`--cache ${shellQuote(opts.cacheDir)}`);
  return parts.join(' ');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function checkLoadable(
  dataset: Dataset,
  plan: Plan,
  spec: EncoderSpec,
  opts: { cacheDir?: string; dtype?: string },
): FeatureManifest {
  const cmd = extractCommand(dataset, spec, { dtype: opts.dtype, cacheDir: opts.cacheDir });
  const m = readManifest(plan.dir);
  if (!m || !m.complete) {
    throw new FeaturesNotCachedError(
      `${plan.encoderName} features for ${dataset.name} are ${m ? 'only partly computed' : 'not cached'} (${plan.dir}); run: ${cmd}`,
      cmd,
    );
  }
  const stale = staleChunks(m, plan).length;
  if (stale > 0) {
    throw new FeaturesNotCachedError(
      `${plan.encoderName} features for ${dataset.name} are out of date (inputs changed in ${stale} chunk(s)); run: ${cmd}`,
      cmd,
    );
  }
  return m;
}

// ---------------------------------------------------------------------------------------------

interface Plan {
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

async function planDense(
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

async function planSequences(
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
function staleChunks(m: FeatureManifest, plan: Plan): number[] {
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

/** An entry whose lock is held: what is already good and what is left to compute. */
interface OpenEntry {
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
function finishedEntry(plan: Plan, verify: boolean): FeatureManifest | null {
  let m = readManifest(plan.dir);
  if (m && !compatible(m, plan)) m = null;
  return m?.complete && staleChunks(m, plan).length === 0 && matrixIntact(plan.dir, m, verify) ? m : null;
}

/**
 * Fill the cache entries of `plans` (one report each, in order). Plans given together are
 * variants of one encoder that can be computed in one pass (see extractFeatureSet): the chunks
 * any of them lacks are computed once by the joint encoder and written to each entry that lacks
 * them. `t0`: when the call started (loading the encoder to learn its key counts in the time).
 */
async function runPlans(
  dataset: Dataset,
  plans: Plan[],
  opts: ExtractOptions,
  t0: number,
): Promise<ExtractReport[]> {
  const verify = opts.verify ?? true;
  const n = dataset.records.length;
  const reports = new Array<ExtractReport>(plans.length);
  const reuse = (k: number, m: FeatureManifest): void => {
    plans[k].ready?.dispose();
    reports[k] = makeReport(plans[k], m, 0, n, NOTHING_RECOMPUTED, 0, performance.now() - t0);
  };
  const work: number[] = [];
  plans.forEach((plan, k) => {
    const m = finishedEntry(plan, verify);
    if (m) reuse(k, m);
    else work.push(k);
  });
  if (!work.length) return reports;

  const releases: Array<() => void> = [];
  try {
    // Locks in a fixed order, so that two processes joining overlapping entries cannot deadlock.
    for (const k of [...work].sort((a, b) => (plans[a].dir < plans[b].dir ? -1 : 1))) {
      releases.push(
        await acquireLock(plans[k].dir, {
          onWait: (holder) => {
            if (opts.progress !== false && !env.quiet)
              process.stderr.write(`waiting for ${holder}, which is extracting the same features\n`);
          },
        }),
      );
    }
    const open: OpenEntry[] = [];
    for (const k of work) {
      // Re-read under the lock: whoever held it may have finished or advanced the work.
      const m = finishedEntry(plans[k], verify);
      if (m) reuse(k, m);
      else open.push(openEntry(dataset, plans[k], k, opts, verify));
    }
    if (opts.progress !== false && !env.quiet) {
      for (const o of open) {
        const r = summariseRecompute(o);
        if (r.chunks > 0) process.stderr.write(`features ${o.plan.encoderName}: ${recomputeText(r)}\n`);
      }
    }
    // Entries computed together must cut the same chunks and encoder batches.
    const groups = new Map<string, OpenEntry[]>();
    for (const o of open) {
      const key = `${o.base.chunkRows}/${o.base.batchSize}`;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    for (const group of groups.values()) {
      const { computeSeconds, workersUsed } = await computeEntries(dataset, group, opts);
      for (const o of group) {
        const finished = finish(o.plan, o.base, o.slots, o.done, computeSeconds / group.length);
        reports[o.index] = makeReport(
          o.plan,
          finished,
          o.pendingRows,
          n - o.pendingRows,
          summariseRecompute(o),
          workersUsed,
          performance.now() - t0,
        );
        if (opts.runner && o.pendingRows > 0) reports[o.index].computedOn = opts.runner.label;
      }
    }
  } finally {
    for (const release of releases.reverse()) release();
  }
  return reports;
}

/** Under the entry's lock: start or reuse its manifest and find the chunks still to compute. */
function openEntry(
  dataset: Dataset,
  plan: Plan,
  index: number,
  opts: ExtractOptions,
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

/**
 * Compute the chunks any entry of `group` lacks: with one entry, by its own encoder; with
 * several, by one joint encoder whose rows are cut into each entry's part (one network run per
 * poster for all of them).
 */
async function computeEntries(
  dataset: Dataset,
  group: OpenEntry[],
  opts: ExtractOptions,
): Promise<{ computeSeconds: number; workersUsed: number }> {
  const first = group[0];
  const slots = first.slots.filter((s) => group.some((o) => o.pending.has(s.index)));
  if (!slots.length) {
    for (const o of group) o.plan.ready?.dispose();
    return { computeSeconds: 0, workersUsed: 0 };
  }
  const tc = performance.now();
  const plan = first.plan;
  const joint = group.length > 1;
  const computerSpec: ComputerSpec = {
    kind: plan.kind,
    encoderName: plan.encoderName,
    options: plan.options,
    module: plan.workerModule ?? '',
    dtype: plan.dtype === 'float16' ? 'float16' : 'float32',
    dim: plan.dim,
    batchSize: first.base.batchSize,
  };
  let ready = plan.ready;
  if (joint) {
    for (const o of group) o.plan.ready?.dispose();
    computerSpec.options = jointOptionsOf(
      plan.encoderName,
      group.map((o) => o.plan.options),
    );
    computerSpec.split = group.map((o) => o.plan.dim);
    computerSpec.dim = computerSpec.split.reduce((a, b) => a + b, 0);
    // Prepared here once (an exported model file, say), not by every worker at the same time.
    ready = await resolveEncoder({ name: plan.encoderName, options: computerSpec.options });
    await ready.init();
    if (ready.dim !== computerSpec.dim)
      throw new Error(
        `joint ${plan.encoderName} encoder gives rows of ${ready.dim}, expected ${computerSpec.dim}`,
      );
  }
  const rows = slots.reduce((a, s) => a + s.end - s.start, 0);
  const wanted = opts.workers ?? defaultWorkers();
  const workersUsed = plan.workerModule === null || opts.runner ? 0 : Math.min(wanted, slots.length);
  if (workersUsed > 0 && joint) ready?.dispose();
  const bar = progressBar(
    joint
      ? `features ${plan.encoderName} (${group.length} layers, one pass)`
      : `features ${plan.encoderName}`,
    rows,
    { unit: 'rows', silent: opts.progress === false },
  );
  let rowsDone = 0;
  const onChunk = (slot: ChunkSlot, outs: ChunkOutput[]): void => {
    if (group.every((o) => !o.pending.has(slot.index) || o.done.has(slot.index))) return; // a chunk delivered twice (a retried job) counts once
    group.forEach((o, j) => {
      if (!o.pending.has(slot.index)) return;
      const out = outs[j];
      const rec: ChunkRecord = {
        index: slot.index,
        start: slot.start,
        end: slot.end,
        bytes: out.bytes.length,
        sha256: sha256(out.bytes),
        sourcesHash: chunkSourcesHash(o.plan.stamps, slot.start, slot.end),
        errors: out.errors,
        contentHashes: out.contentHashes,
        values: out.values,
      };
      writeChunk(o.plan.dir, rec, out.bytes);
      o.done.set(slot.index, { rec, source: 'chunk' });
    });
    rowsDone += slot.end - slot.start;
    bar.tick(slot.end - slot.start);
    opts.onProgress?.(rowsDone, rows);
  };
  try {
    const records = dataset.records;
    if (opts.runner) {
      const n = records.length;
      await opts.runner.run({
        key: sha256(
          stableJson([
            plan.dir,
            first.base.chunkRows,
            first.base.batchSize,
            chunkSourcesHash(plan.stamps, 0, n),
            ...(plan.freshness === 'content' ? [sha256(plan.content.join('\n'))] : []),
          ]),
        ),
        datasetRoot: dataset.root,
        slots: first.slots,
        pending: slots,
        records,
        spec: computerSpec,
        modality: plan.modality,
        onChunk: (slot, out) => onChunk(slot, [out]),
        status: (text) => bar.status(text),
        signal: opts.signal,
      });
    } else if (workersUsed === 0)
      await runInProcess(slots, records, computerSpec, ready, onChunk, opts.signal);
    else await runWorkers(slots, records, computerSpec, workersUsed, onChunk, opts.signal);
  } finally {
    bar.stop();
    ready?.dispose();
  }
  return { computeSeconds: (performance.now() - tc) / 1000, workersUsed };
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

const NOTHING_RECOMPUTED: RecomputedChunks = { chunks: 0, rows: 0, reasons: [] };

function summariseRecompute(o: OpenEntry): RecomputedChunks {
  const byReason = new Map<RecomputeReason, { chunks: number; rows: number }>();
  let rows = 0;
  for (const [index, reason] of o.recompute) {
    const slot = o.slots[index];
    const n = slot.end - slot.start;
    const r = byReason.get(reason) ?? { chunks: 0, rows: 0 };
    r.chunks++;
    r.rows += n;
    byReason.set(reason, r);
    rows += n;
  }
  return {
    chunks: o.recompute.size,
    rows,
    reasons: [...byReason].map(([reason, r]) => ({ reason, ...r })).sort((a, b) => b.chunks - a.chunks),
  };
}

/** Assemble the finished file from chunks (and slices of an earlier matrix), then the manifest. */
function finish(
  plan: Plan,
  base: FeatureManifest,
  slots: ChunkSlot[],
  done: Map<number, { rec: ChunkRecord; source: 'chunk' | 'matrix' }>,
  computeSeconds: number,
): FeatureManifest {
  const oldMatrix =
    base.matrix && existsSync(join(plan.dir, base.matrix.file))
      ? readFileSync(join(plan.dir, base.matrix.file))
      : null;
  const oldOffsets = new Map<number, number>();
  let off = 0;
  for (const c of base.complete ? base.chunks : []) {
    oldOffsets.set(c.index, off);
    off += c.bytes;
  }
  const records = slots.map((s) => done.get(s.index)!);
  function* parts(): Generator<Uint8Array> {
    for (const { rec, source } of records) {
      if (source === 'chunk') yield readChunkData(plan.dir, rec.index);
      else {
        const o = oldOffsets.get(rec.index)!;
        yield oldMatrix!.subarray(o, o + rec.bytes);
      }
    }
  }
  const file = matrixFileName(plan.dtype);
  const bytes = writeMatrixFile(join(plan.dir, file), parts());
  const expected =
    plan.kind === 'dense' ? plan.identity.ids.length * plan.dim * bytesPerValue(plan.dtype) : bytes;
  if (bytes !== expected) throw new CorruptCacheError(`assembled ${bytes} bytes, expected ${expected}`);

  const missing: Record<string, string> = {};
  const sources: Record<string, SourceStamp> = {};
  const chunks = records.map((r) => r.rec);
  for (const c of chunks) Object.assign(missing, c.errors);
  plan.identity.ids.forEach((id, i) => {
    const s = { ...plan.stamps[i] };
    const h = chunks.find((c) => i >= c.start && i < c.end)?.contentHashes[id] ?? base.sources[id]?.sha256;
    if (h && s.path) s.sha256 = h;
    sources[id] = s;
  });
  const m: FeatureManifest = {
    ...base,
    complete: true,
    matrix: { file, bytes },
    chunks,
    missing,
    sources,
    completedAt: new Date().toISOString(),
    computeSeconds: base.computeSeconds + computeSeconds,
  };
  writeManifest(plan.dir, m);
  removeChunks(plan.dir); // their bytes now live in the matrix, covered by the same checksums
  return m;
}

export function groupMissing(missing: Record<string, string>): MissingReason[] {
  const groups = new Map<string, MissingReason>();
  for (const [id, message] of Object.entries(missing)) {
    // Group "cannot decode /a/b.jpg: …" and "cannot decode /c/d.jpg: …" together.
    const reason = message
      .replace(/(?:[A-Za-z]:)?[/\\][^\s:'"]+/g, '<path>')
      .replace(/\btt\d+\b|\b\d+\b/g, 'N')
      .slice(0, 120);
    const g = groups.get(reason);
    if (g) g.count++;
    else groups.set(reason, { reason, count: 1, example: { id, message } });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

function makeReport(
  plan: Plan,
  m: FeatureManifest,
  computedRows: number,
  reusedRows: number,
  recomputed: RecomputedChunks,
  workers: number,
  ms: number,
): ExtractReport {
  const seconds = ms / 1000;
  return {
    dir: plan.dir,
    encoder: plan.encoderName,
    rows: m.ids.length,
    dim: m.dim,
    rowShape: m.rowShape,
    dtype: m.dtype,
    missing: Object.keys(m.missing).length,
    missingReasons: groupMissing(m.missing),
    computedRows,
    reusedRows,
    recomputed,
    freshness: plan.freshness,
    noop: computedRows === 0 && reusedRows === m.ids.length,
    workers,
    seconds,
    rowsPerSecond: computedRows > 0 && seconds > 0 ? computedRows / seconds : 0,
  };
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('feature extraction aborted');
  e.name = 'AbortError';
  return e;
}

async function runInProcess(
  pending: ChunkSlot[],
  records: MovieRecord[],
  spec: ComputerSpec,
  ready: Encoder | undefined,
  onChunk: (slot: ChunkSlot, outs: ChunkOutput[]) => void,
  signal?: AbortSignal,
): Promise<void> {
  const computer = await buildComputer(spec, ready);
  try {
    for (const slot of pending) {
      if (signal?.aborted) throw abortError(signal);
      onChunk(slot, await computer.computeChunk(records.slice(slot.start, slot.end)));
    }
  } finally {
    computer.dispose();
  }
}

type Reply =
  | { type: 'ready' }
  | { type: 'done'; index: number; outputs: ChunkOutput[] }
  | { type: 'fatal'; message: string; stack?: string };

/** Hand chunks out to `count` workers, each taking the next pending chunk when it is free. */
async function runWorkers(
  pending: ChunkSlot[],
  records: MovieRecord[],
  spec: ComputerSpec,
  count: number,
  onChunk: (slot: ChunkSlot, outs: ChunkOutput[]) => void,
  signal?: AbortSignal,
): Promise<void> {
  const queue = [...pending];
  const workers: Worker[] = [];
  let failed = false;
  const url = siblingModule(import.meta.url, 'worker');

  const stopAll = (): void => {
    for (const w of workers) void w.terminate();
  };

  const drive = (w: Worker): Promise<void> =>
    new Promise<void>((resolvePromise, reject) => {
      let current: ChunkSlot | undefined;
      const fail = (err: Error): void => {
        failed = true;
        cleanup();
        reject(err);
      };
      const next = (): void => {
        if (failed) return resolvePromise();
        if (signal?.aborted) return fail(abortError(signal));
        current = queue.shift();
        if (!current) {
          cleanup();
          w.postMessage({ type: 'stop' });
          return resolvePromise();
        }
        w.postMessage({
          type: 'chunk',
          index: current.index,
          records: records.slice(current.start, current.end),
        });
      };
      const onMessage = (msg: Reply): void => {
        if (msg.type === 'ready') next();
        else if (msg.type === 'fatal') {
          const e = new Error(`feature worker failed: ${msg.message}`);
          if (msg.stack) e.stack = `${e.message}\n(worker) ${msg.stack}`;
          fail(e);
        } else if (msg.type === 'done' && current && msg.index === current.index) {
          try {
            onChunk(current, msg.outputs);
            current = undefined;
          } catch (err) {
            return fail(err instanceof Error ? err : new Error(String(err)));
          }
          next();
        }
      };
      const onError = (err: Error): void => fail(err);
      const onExit = (code: number): void => {
        if (!failed)
          fail(
            new Error(
              `feature worker exited (code ${code})${current ? ` while computing chunk ${current.index}` : ''}`,
            ),
          );
      };
      const onAbort = (): void => fail(abortError(signal!));
      const cleanup = (): void => {
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        signal?.removeEventListener('abort', onAbort);
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  for (let i = 0; i < count; i++) workers.push(startWorker(url, { workerData: spec }));
  try {
    await Promise.all(workers.map(drive));
  } catch (err) {
    stopAll();
    throw err;
  }
  // Finished workers were told to stop: they end by themselves (see exitOrTerminate).
  await Promise.all(workers.map((w) => exitOrTerminate(w)));
}
