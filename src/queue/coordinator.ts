/**
 * The coordinator's side of a queued run: enqueue shards as BullMQ jobs (a bounded window of
 * them at a time, so Redis never holds a whole catalogue), take each finished shard's result,
 * and report the shards that failed for good. Job ids are `<run>.<shard>`: a restarted
 * coordinator finds the jobs of its previous life (finished ones are collected, waiting or
 * running ones adopted, failed ones tried again) instead of enqueueing them twice.
 */
import type { Job, Queue, QueueEvents } from 'bullmq';
import { env } from '../env.js';
import { connectRedis, loadBullmq, RESULT_TTL_SECONDS, type QueueTarget } from './connection.js';
import type { UnprocessedMovie } from './errors.js';
import { JobReturn, type JobData } from './jobs.js';

export interface Shard {
  /** Position in the run (stable across restarts of the same run). */
  index: number;
  /** Movie ids, for the report when the shard fails. */
  movies: string[];
  /** The job's payload (built when the shard enters the window). */
  build(): JobData;
}

export interface ShardRunOptions {
  target: QueueTarget;
  /** Run key (a hex hash of what is computed): job ids are `<run>.<shard index>`. */
  run: string;
  shards: Shard[];
  /** Take a finished shard's result (throwing counts the shard as failed with that message). */
  onResult(shard: Shard, result: Buffer): Promise<void> | void;
  /** Called with a line such as 'shards 3/12 · 2 workers' whenever it changes. */
  onStatus?(text: string): void;
  /** Shards in Redis at once (default 32). */
  window?: number;
  /** Attempts per shard before it fails for good (default 3). */
  attempts?: number;
  signal?: AbortSignal;
}

export interface ShardRunReport {
  shards: number;
  /** Movies of shards that failed for good, each with the reason. */
  failed: UnprocessedMovie[];
  /** Largest number of workers seen connected. */
  workersSeen: number;
}

const SWEEP_MS = 2000;

export function jobIdOf(run: string, shard: number): string {
  return `${run}.${shard}`;
}

export async function runShards(opts: ShardRunOptions): Promise<ShardRunReport> {
  const { Queue, QueueEvents, Job: JobClass } = await loadBullmq();
  const window = Math.max(1, opts.window ?? 32);
  const attempts = opts.attempts ?? 3;
  const client = await connectRedis(opts.target, 'coordinator');
  const eventsClient = await connectRedis(opts.target, 'coordinator-events');
  const queue: Queue = new Queue(opts.target.name, { connection: client });
  const events: QueueEvents = new QueueEvents(opts.target.name, { connection: eventsClient });
  const flagged = new Set<string>();
  let wake: (() => void) | null = null;
  const flag = ({ jobId }: { jobId: string }): void => {
    flagged.add(jobId);
    wake?.();
  };
  events.on('completed', flag);
  events.on('failed', flag);
  const onAbort = (): void => wake?.();
  opts.signal?.addEventListener('abort', onAbort);

  const outstanding = new Map<string, Shard>();
  const failed: UnprocessedMovie[] = [];
  const lost = new Map<string, number>(); // results that vanished from Redis: re-enqueued, counted
  let next = 0;
  let done = 0;
  let failedShards = 0;
  let workers = 0;
  let workersSeen = 0;
  let lastStatus = '';
  let lastWorkerCheck = 0;
  let lastSweep = 0;
  const started = Date.now();
  let toldNoWorkers = false;

  const status = (): void => {
    const text =
      `shards ${done}/${opts.shards.length}` +
      (failedShards ? ` (${failedShards} failed)` : '') +
      ` · ${workers} worker${workers === 1 ? '' : 's'}` +
      (workers === 0 ? ' (start one: mmgenre worker --queue URL)' : '');
    if (text !== lastStatus) opts.onStatus?.(text);
    lastStatus = text;
  };

  const add = async (shard: Shard, id: string): Promise<void> => {
    const data = shard.build();
    await queue.add(data.kind, data, {
      jobId: id,
      attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: RESULT_TTL_SECONDS },
      removeOnFail: { age: RESULT_TTL_SECONDS },
    });
  };

  const enqueue = async (shard: Shard): Promise<void> => {
    const id = jobIdOf(opts.run, shard.index);
    const existing = await JobClass.fromId(queue, id);
    if (existing) {
      const state = await existing.getState();
      if (state === 'failed')
        await existing.remove(); // failed in an earlier life: try again
      else {
        outstanding.set(id, shard); // waiting, running or finished: adopt it
        flagged.add(id);
        return;
      }
    }
    await add(shard, id);
    outstanding.set(id, shard);
  };

  const settle = async (id: string): Promise<void> => {
    const shard = outstanding.get(id);
    if (!shard) return;
    const job: Job | undefined = await JobClass.fromId(queue, id);
    if (!job) {
      // Removed by someone else (queue obliterated, or expired): enqueue again.
      outstanding.delete(id);
      await enqueue(shard);
      return;
    }
    const state = await job.getState();
    if (state === 'failed') {
      outstanding.delete(id);
      const reason = job.failedReason || 'the shard failed';
      for (const m of shard.movies) failed.push({ id: m, reason });
      failedShards++;
      return;
    }
    if (state !== 'completed') return;
    const ret = JobReturn.safeParse(job.returnvalue);
    const buf = ret.success ? await client.getBuffer(ret.data.result) : null;
    if (!buf) {
      const n = (lost.get(id) ?? 0) + 1;
      lost.set(id, n);
      await job.remove();
      outstanding.delete(id);
      if (n > attempts) {
        for (const m of shard.movies) failed.push({ id: m, reason: 'its result never reached Redis' });
        failedShards++;
      } else await enqueue(shard);
      return;
    }
    try {
      await opts.onResult(shard, buf);
      done++;
    } catch (err) {
      const reason = `bad result: ${err instanceof Error ? err.message : String(err)}`;
      for (const m of shard.movies) failed.push({ id: m, reason });
      failedShards++;
    }
    outstanding.delete(id);
    await client.del(ret.data!.result);
    await job.remove().catch(() => {}); // already gone is fine
  };

  try {
    await events.waitUntilReady();
    status();
    while (next < opts.shards.length || outstanding.size > 0) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      while (outstanding.size < window && next < opts.shards.length) await enqueue(opts.shards[next++]);
      const now = Date.now();
      if (now - lastWorkerCheck > SWEEP_MS) {
        lastWorkerCheck = now;
        workers = await queue.getWorkersCount().catch(() => workers);
        workersSeen = Math.max(workersSeen, workers);
        if (workers === 0 && !toldNoWorkers && now - started > 10_000 && !env.quiet) {
          toldNoWorkers = true; // once, also where no progress bar is drawn (logs, pipes)
          process.stderr.write(
            `no worker is connected to ${opts.target.display} yet: start one with mmgenre worker --queue URL\n`,
          );
        }
      }
      // Events wake us quickly; a sweep over every outstanding job catches any event missed.
      const ids = now - lastSweep > SWEEP_MS ? [...outstanding.keys()] : [...flagged];
      if (ids.length === outstanding.size) lastSweep = now;
      flagged.clear();
      for (const id of ids) await settle(id);
      status();
      if (flagged.size === 0 && (outstanding.size > 0 || next < opts.shards.length)) {
        await new Promise<void>((res) => {
          const t = setTimeout(res, 500);
          wake = () => {
            clearTimeout(t);
            res();
          };
        });
        wake = null;
      }
    }
    return { shards: opts.shards.length, failed, workersSeen };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
    client.disconnect();
    eventsClient.disconnect();
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error('aborted');
  e.name = 'AbortError';
  return e;
}
