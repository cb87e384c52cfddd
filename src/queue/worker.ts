/**
 * A queue worker: takes shards from the queue one at a time and computes them with encoders and
 * models it loads once (kept while jobs keep asking for them). Run as many as there are cores,
 * on as many machines as see the dataset folder at the same path. A worker killed mid-shard
 * loses nothing: BullMQ notices its lock lapsed and hands the shard to another worker.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Job } from 'bullmq';
import { z } from 'zod';
import { buildComputer, type ChunkComputer } from '../features/compute.js';
import { stableJson } from '../features/store.js';
import { loadPredictor, type Predictor } from '../predict/predictor.js';
import { predictShard } from '../predict/shard.js';
import { predictMovies, type UnlabeledMovie } from '../predict/unlabeled.js';
import { connectRedis, loadBullmq, parseQueueUrl, resultKey, RESULT_TTL_SECONDS } from './connection.js';
import {
  fromJobRecord,
  isWithin,
  JobData,
  packResult,
  type FeaturesJobData,
  type FeaturesResultHeader,
  type JobReturn,
  type MoviesJobData,
  type MoviesResult,
  type PredictJobData,
} from './jobs.js';

export interface QueueWorkerOptions {
  queue: string;
  queueName?: string;
  /** Folders jobs may name (dataset folders, run folders); empty: any. */
  allow?: string[];
  /** Seconds without a heartbeat after which a shard is handed to another worker (default 30). */
  stallSeconds?: number;
  /** Resolves the worker's run: it finishes its shard, then stops. */
  signal?: AbortSignal;
  /** One line per event (started, shard done, shard failed). */
  log?: (line: string) => void;
}

export interface QueueWorkerReport {
  shards: number;
  failed: number;
}

/** Keeps the last `size` loaded things (encoders, models) by key. */
class Loaded<T> {
  private items = new Map<string, Promise<T>>();
  constructor(
    private size: number,
    private dispose: (t: T) => void,
  ) {}
  get(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.items.get(key);
    if (p) {
      this.items.delete(key);
      this.items.set(key, p); // most recently used last
      return p;
    }
    p = load();
    p.catch(() => this.items.delete(key));
    this.items.set(key, p);
    while (this.items.size > this.size) {
      const [oldKey, old] = this.items.entries().next().value!;
      this.items.delete(oldKey);
      void old.then(this.dispose, () => {});
    }
    return p;
  }
  clear(): void {
    for (const p of this.items.values()) void p.then(this.dispose, () => {});
    this.items.clear();
  }
}

export async function runQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorkerReport> {
  const target = parseQueueUrl(opts.queue, opts.queueName);
  const log = opts.log ?? (() => {});
  const allow = (opts.allow ?? []).map((d) => resolve(d));
  const stall = (opts.stallSeconds ?? 30) * 1000;
  const { Worker, UnrecoverableError } = await loadBullmq();
  const results = await connectRedis(target, 'worker-results');
  const connection = await connectRedis(target, 'worker');
  const computers = new Loaded<ChunkComputer>(2, (c) => c.dispose());
  const predictors = new Loaded<Predictor>(1, (p) => p.dispose());

  /** A path a job names, refused unless it is an existing folder inside an allowed one. */
  const checkFolder = (what: string, path: string): string => {
    const p = resolve(path);
    if (allow.length && !allow.some((a) => isWithin(p, a)))
      throw new UnrecoverableError(`${what} ${p} is outside the folders this worker serves (--allow)`);
    let dir = false;
    try {
      dir = statSync(p).isDirectory();
    } catch {
      // reported below
    }
    if (!dir) throw new UnrecoverableError(`${what} ${p} is not a folder this worker can see`);
    return p;
  };

  const features = async (data: FeaturesJobData): Promise<Buffer> => {
    const folder = checkFolder('dataset folder', data.root);
    const computer = await computers.get(stableJson(data.spec), () => buildComputer(data.spec));
    const header: FeaturesResultHeader = { chunks: [] };
    const parts: Uint8Array[] = [];
    for (const chunk of data.chunks) {
      const recs = chunk.records.map((r) => fromJobRecord(r, folder));
      // A queue job computes one cache entry (joint extraction runs in process): its one output.
      const [out] = await computer.computeChunk(recs.map((r) => r.record));
      // A refused poster path is that movie's error, never the shard's.
      if (data.modality === 'poster')
        for (const r of recs) if (r.refused) out.errors[r.record.id] = r.refused;
      header.chunks.push({
        index: chunk.index,
        start: chunk.start,
        end: chunk.end,
        bytes: out.bytes.length,
        errors: out.errors,
        contentHashes: out.contentHashes,
        ...(out.values !== undefined ? { values: out.values } : {}),
      });
      parts.push(out.bytes);
    }
    return packResult(header, parts);
  };

  const predict = async (data: PredictJobData): Promise<Buffer> => {
    const folder = checkFolder('dataset folder', data.root);
    const model = checkFolder('run folder', data.model);
    const predictor = await predictors.get(model, () => loadPredictor(model));
    const recs = data.records.map((r) => fromJobRecord(r, folder));
    const result = await predictShard(
      predictor,
      recs.map((r) => r.record),
    );
    const refused = new Map(recs.flatMap((r) => (r.refused ? [[r.record.id, r.refused]] : [])));
    for (const s of result.skipped) {
      const why = refused.get(s.id);
      if (why) s.missing.push({ input: 'poster', reason: why });
    }
    return packResult(result);
  };

  const movies = async (data: MoviesJobData): Promise<Buffer> => {
    const folder = checkFolder('input folder', data.root);
    const model = checkFolder('run folder', data.model);
    const predictor = await predictors.get(`${model}|${data.threshold ?? ''}`, () =>
      loadPredictor(model, { threshold: data.threshold }),
    );
    const lines: Array<{ id: string }> = [];
    const list: UnlabeledMovie[] = [];
    for (const r of data.records) {
      const { record, refused } = fromJobRecord(r, folder);
      if (refused) lines.push({ id: r.id, error: refused } as { id: string });
      else
        list.push({
          id: r.id,
          ...(r.title !== undefined ? { title: r.title } : {}),
          input: {
            ...(record.posterPath ? { poster: record.posterPath } : {}),
            ...(r.plot !== null ? { plot: r.plot } : {}),
            ...(r.title !== undefined ? { title: r.title } : {}),
            ...(r.companies !== undefined ? { companies: r.companies } : {}),
          },
        });
    }
    const done = new Map<string, { id: string }>();
    const { failed } = await predictMovies(predictor, list, (line) => done.set(line.id, line));
    // In the job's order (a refused poster path keeps its place).
    const byId = new Map([...lines.map((l) => [l.id, l] as const), ...done]);
    const result: MoviesResult = {
      lines: data.records.map((r) => byId.get(r.id)!),
      failed: failed.length + lines.length,
    };
    return packResult(result);
  };

  let shards = 0;
  let failed = 0;
  const processor = async (job: Job): Promise<JobReturn> => {
    const parsed = JobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid job: ${z.prettifyError(parsed.error)}`);
    const data = parsed.data;
    const count =
      data.kind === 'features' ? data.chunks.reduce((a, c) => a + c.records.length, 0) : data.records.length;
    const what = `${data.kind === 'features' ? `features ${data.spec.encoderName}` : data.kind}, ${count} movies`;
    log(`shard ${job.id} started (${what})`);
    const t0 = performance.now();
    const buf =
      data.kind === 'features'
        ? await features(data)
        : data.kind === 'predict'
          ? await predict(data)
          : await movies(data);
    const key = resultKey(target, job.id!);
    await results.set(key, buf, 'EX', RESULT_TTL_SECONDS);
    log(`shard ${job.id} done (${what}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return { result: key, bytes: buf.length };
  };

  const worker = new Worker(target.name, processor, {
    connection,
    concurrency: 1,
    lockDuration: stall,
    stalledInterval: stall,
    // A shard whose worker died is handed out again; only one that kills worker after worker fails.
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => {
    failed++;
    log(`shard ${job?.id ?? '?'} failed: ${err.message}`);
  });
  worker.on('completed', () => shards++);
  worker.on('error', (err) => log(`queue error: ${err.message}`));
  await worker.waitUntilReady();
  log(
    `worker ready on ${target.display} (queue ${target.name}${allow.length ? `, serving ${allow.join(', ')}` : ''})`,
  );
  await new Promise<void>((res) => {
    if (opts.signal?.aborted) return res();
    opts.signal?.addEventListener('abort', () => res(), { once: true });
  });
  await worker.close(); // lets the shard in hand finish
  computers.clear();
  predictors.clear();
  results.disconnect();
  connection.disconnect();
  return { shards, failed };
}
