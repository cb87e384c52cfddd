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
import { normaliseSpec, resolveEncoder, workerModuleFor, type EncoderSpec } from './registry.js';
import {
  acquireLock,
  bytesPerValue,
  chunkSourcesHash,
  corruptChunks,
  entryDir,
  idsHash,
  matrixFileName,
  readChunkData,
  readChunkRecords,
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
  type SourceStamp,
} from './store.js';
import type { Encoder, FeatureMatrix, Modality, SequenceFeatures } from './types.js';

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
  noop: boolean;
  workers: number;
  /** Set when the rows were computed elsewhere (ChunkRunner.label: e.g. a queue). */
  computedOn?: string;
  seconds: number;
  /** Rows computed per second of this call (0 when nothing was computed). */
  rowsPerSecond: number;
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
  const report = await runPlan(dataset, plan, opts, t0);
  const m = readManifest(plan.dir)!;
  return { features: readMatrix(plan.dir, m, false), report };
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
  const report = await runPlan(dataset, plan, opts, t0);
  const m = readManifest(plan.dir)!;
  return { features: readSequences(plan.dir, m, false), report };
}

/** Name under which `features extract` offers plot token sequences. */
export const SEQUENCE_ENCODER = 'plot-sequences';

export class FeaturesNotCachedError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = 'FeaturesNotCachedError';
  }
}

/** Read cached features without computing anything; throws naming the command that computes them. */
export async function loadFeatures(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: Pick<ExtractOptions, 'cacheDir' | 'dtype' | 'verify'> = {},
): Promise<FeatureMatrix> {
  const plan = await planDense(dataset, spec, opts);
  const m = checkLoadable(dataset, plan, spec, opts);
  return readMatrix(plan.dir, m, opts.verify ?? true);
}

export async function loadSequences(
  dataset: Dataset,
  opts: Pick<ExtractOptions, 'cacheDir' | 'verify'> & { encoder?: EncoderSpec } = {},
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
  /** A main-thread encoder already initialised (to learn its key), reused in-process. */
  ready?: Encoder;
  /** Module workers import to build a run-time encoder ('' built-in, null: main thread only). */
  workerModule: string | null;
}

function cacheDirOf(opts: { cacheDir?: string }): string {
  return resolve(opts.cacheDir ?? env.cacheDir);
}

async function planDense(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: { cacheDir?: string; dtype?: FeatureDtype },
): Promise<Plan> {
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
    stamps: sourceStamps(dataset.records, encoder.modality),
    ready,
    workerModule: encoder.inProcess ? null : workerModuleFor(name),
  };
  if (!ready) encoder.dispose();
  return plan;
}

async function planSequences(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: { cacheDir?: string },
): Promise<Plan> {
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
    stamps: sourceStamps(dataset.records, 'plot'),
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

/** Chunks of a finished manifest whose inputs changed since they were computed. */
function staleChunks(m: FeatureManifest, plan: Plan): number[] {
  return m.chunks
    .filter((c) => chunkSourcesHash(plan.stamps, c.start, c.end) !== c.sourcesHash)
    .map((c) => c.index);
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

/** `t0`: when the call started (loading the encoder to learn its key counts in the reported time). */
async function runPlan(
  dataset: Dataset,
  plan: Plan,
  opts: ExtractOptions,
  t0: number,
): Promise<ExtractReport> {
  const verify = opts.verify ?? true;
  const n = plan.identity.ids.length;
  let manifest = readManifest(plan.dir);
  if (manifest && !compatible(manifest, plan)) manifest = null;

  // Fast path: finished, every chunk fresh, matrix intact.
  if (
    manifest?.complete &&
    staleChunks(manifest, plan).length === 0 &&
    matrixIntact(plan.dir, manifest, verify)
  ) {
    plan.ready?.dispose();
    return makeReport(plan, manifest, 0, n, 0, performance.now() - t0);
  }

  const release = await acquireLock(plan.dir, {
    onWait: (holder) => {
      if (opts.progress !== false && !env.quiet && process.env.MMGENRE_QUIET !== '1')
        process.stderr.write(`waiting for ${holder}, which is extracting the same features\n`);
    },
  });
  try {
    // Re-read under the lock: whoever held it may have finished or advanced the work.
    manifest = readManifest(plan.dir);
    if (manifest && !compatible(manifest, plan)) manifest = null;
    if (
      manifest?.complete &&
      staleChunks(manifest, plan).length === 0 &&
      matrixIntact(plan.dir, manifest, verify)
    ) {
      plan.ready?.dispose();
      return makeReport(plan, manifest, 0, n, 0, performance.now() - t0);
    }
    removeStaleTemps(plan.dir);
    const chunkRows = manifest?.chunkRows ?? opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
    const batchSize = manifest?.batchSize ?? opts.batchSize ?? DEFAULT_BATCH;
    const base = manifest ?? newManifest(dataset, plan, chunkRows, batchSize);
    if (!manifest) {
      removeChunks(plan.dir); // chunks of an incompatible or unreadable earlier entry
      writeManifest(plan.dir, base);
    }
    const slots = chunkSlots(n, chunkRows);
    // What is already good: chunk files on disk, or slices of an earlier finished matrix.
    const onDisk = readChunkRecords(plan.dir, verify);
    const fromMatrix = validMatrixChunks(plan.dir, base);
    const done = new Map<number, { rec: ChunkRecord; source: 'chunk' | 'matrix' }>();
    for (const s of slots) {
      const fresh = chunkSourcesHash(plan.stamps, s.start, s.end);
      const c = onDisk.get(s.index);
      const mc = fromMatrix.get(s.index);
      if (c && c.start === s.start && c.end === s.end && c.sourcesHash === fresh)
        done.set(s.index, { rec: c, source: 'chunk' });
      else if (mc && mc.sourcesHash === fresh) done.set(s.index, { rec: mc, source: 'matrix' });
    }
    const pending = slots.filter((s) => !done.has(s.index));
    const pendingRows = pending.reduce((a, s) => a + s.end - s.start, 0);

    let computeSeconds = 0;
    let workersUsed = 0;
    if (pending.length) {
      const tc = performance.now();
      const computerSpec: ComputerSpec = {
        kind: plan.kind,
        encoderName: plan.encoderName,
        options: plan.options,
        module: plan.workerModule ?? '',
        dtype: plan.dtype === 'float16' ? 'float16' : 'float32',
        dim: plan.dim,
        batchSize,
      };
      const wanted = opts.workers ?? defaultWorkers();
      workersUsed = plan.workerModule === null || opts.runner ? 0 : Math.min(wanted, pending.length);
      const bar = progressBar(`features ${plan.encoderName}`, pendingRows, {
        unit: 'rows',
        silent: opts.progress === false,
      });
      let rowsDone = 0;
      const onChunk = (slot: ChunkSlot, out: ChunkOutput): void => {
        if (done.has(slot.index)) return; // a chunk delivered twice (a retried job) counts once
        const rec: ChunkRecord = {
          index: slot.index,
          start: slot.start,
          end: slot.end,
          bytes: out.bytes.length,
          sha256: sha256(out.bytes),
          sourcesHash: chunkSourcesHash(plan.stamps, slot.start, slot.end),
          errors: out.errors,
          contentHashes: out.contentHashes,
          values: out.values,
        };
        writeChunk(plan.dir, rec, out.bytes);
        done.set(slot.index, { rec, source: 'chunk' });
        rowsDone += slot.end - slot.start;
        bar.tick(slot.end - slot.start);
        opts.onProgress?.(rowsDone, pendingRows);
      };
      try {
        const records = dataset.records;
        if (opts.runner) {
          await opts.runner.run({
            key: sha256(stableJson([plan.dir, chunkRows, batchSize, chunkSourcesHash(plan.stamps, 0, n)])),
            datasetRoot: dataset.root,
            slots,
            pending,
            records,
            spec: computerSpec,
            modality: plan.modality,
            onChunk,
            status: (text) => bar.status(text),
            signal: opts.signal,
          });
        } else if (workersUsed === 0)
          await runInProcess(pending, records, computerSpec, plan.ready, onChunk, opts.signal);
        else await runWorkers(pending, records, computerSpec, workersUsed, onChunk, opts.signal);
      } finally {
        bar.stop();
        plan.ready?.dispose();
      }
      computeSeconds = (performance.now() - tc) / 1000;
    } else plan.ready?.dispose();

    const finished = finish(plan, base, slots, done, computeSeconds);
    const report = makeReport(
      plan,
      finished,
      pendingRows,
      n - pendingRows,
      workersUsed,
      performance.now() - t0,
    );
    if (opts.runner && pendingRows > 0) report.computedOn = opts.runner.label;
    return report;
  } finally {
    release();
  }
}

function matrixIntact(dir: string, m: FeatureManifest, verify: boolean): boolean {
  if (!m.matrix) return false;
  const p = join(dir, m.matrix.file);
  if (!existsSync(p)) return false;
  const buf = readFileSync(p);
  if (buf.length !== m.matrix.bytes) return false;
  return !verify || corruptChunks(buf, m).length === 0;
}

/** Chunk records of an earlier finished matrix whose slice still matches its checksum. */
function validMatrixChunks(dir: string, m: FeatureManifest): Map<number, ChunkRecord> {
  const out = new Map<number, ChunkRecord>();
  if (!m.complete || !m.matrix || !existsSync(join(dir, m.matrix.file))) return out;
  const buf = readFileSync(join(dir, m.matrix.file));
  const bad = new Set(corruptChunks(buf, m));
  for (const c of m.chunks) if (!bad.has(c.index)) out.set(c.index, c);
  return out;
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
  onChunk: (slot: ChunkSlot, out: ChunkOutput) => void,
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
  | {
      type: 'done';
      index: number;
      bytes: Uint8Array;
      errors: Record<string, string>;
      contentHashes: Record<string, string>;
      values?: number;
    }
  | { type: 'fatal'; message: string; stack?: string };

/** Hand chunks out to `count` workers, each taking the next pending chunk when it is free. */
async function runWorkers(
  pending: ChunkSlot[],
  records: MovieRecord[],
  spec: ComputerSpec,
  count: number,
  onChunk: (slot: ChunkSlot, out: ChunkOutput) => void,
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
            onChunk(current, msg);
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
