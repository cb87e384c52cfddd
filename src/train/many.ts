/**
 * Several trainings (configs × seeds) at once, each in its own worker thread so both cores
 * work: tfjs-wasm runs one thread per model, so parallel runs are the way to use the machine.
 */
import type { Worker } from 'node:worker_threads';
import { defaultWorkers, exitOrTerminate, siblingModule, startWorker } from '../util/workers.js';
import type { TrainingOverrides } from '../runs/config.js';
import type { TrainRunResult } from './pipeline.js';
import type { EpochMetrics } from './trainer.js';

export interface TrainJob {
  /** Shipped config name or YAML path. */
  config: string;
  data: string;
  out: string;
  overrides?: TrainingOverrides;
  resume?: boolean;
  backend?: 'wasm' | 'cpu';
  /** Train and evaluate on these movies only (e.g. those with a poster). */
  onlyIds?: string[];
  /** Where the runs the config reads are found or trained (default: beside `out`). */
  sourcesDir?: string;
  /** Feature cache folder (default env.cacheDir). */
  cacheDir?: string;
}

export type TrainJobOutcome =
  | { job: TrainJob; ok: true; result: TrainRunResult }
  | { job: TrainJob; ok: false; error: string };

/** Message a training worker posts when done. */
export type TrainWorkerReply = { ok: true; result: TrainRunResult } | { ok: false; error: string };
/** Message a training worker posts after each epoch. */
export type TrainWorkerEpoch = { epoch: EpochMetrics };

export interface TrainManyOptions {
  /** Parallel trainings (default: every core). */
  workers?: number;
  /** Called as each job ends, in completion order. */
  onDone?(outcome: TrainJobOutcome): void;
  /** Called after each epoch of each job (for progress). */
  onEpoch?(job: TrainJob, metrics: EpochMetrics): void;
  /** Called as each job's worker starts. */
  onStart?(job: TrainJob): void;
  signal?: AbortSignal;
}

/** Run every job (a failure is reported for its job; the others go on). Results in job order. */
export async function trainMany(jobs: TrainJob[], opts: TrainManyOptions = {}): Promise<TrainJobOutcome[]> {
  const workers = Math.max(1, Math.min(opts.workers ?? defaultWorkers(), jobs.length));
  const results = new Array<TrainJobOutcome>(jobs.length);
  let next = 0;
  const live = new Set<Worker>();
  const onAbort = (): void => live.forEach((w) => w.postMessage({ type: 'abort' }));
  opts.signal?.addEventListener('abort', onAbort);
  const runOne = (job: TrainJob): Promise<TrainJobOutcome> =>
    new Promise((resolveJob) => {
      const worker = startWorker(siblingModule(import.meta.url, 'worker'), {
        workerData: { ...job, reportEpochs: opts.onEpoch !== undefined },
      });
      live.add(worker);
      opts.onStart?.(job);
      let settled = false;
      const settle = (o: TrainJobOutcome): void => {
        if (settled) return;
        settled = true;
        live.delete(worker);
        resolveJob(o);
      };
      // The job settles when its worker has exited: the worker closes its port after replying
      // and ends by itself (see exitOrTerminate).
      let outcome: TrainJobOutcome | null = null;
      worker.on('message', (reply: TrainWorkerReply | TrainWorkerEpoch) => {
        if ('epoch' in reply) {
          opts.onEpoch?.(job, reply.epoch);
          return;
        }
        outcome = reply.ok ? { job, ok: true, result: reply.result } : { job, ok: false, error: reply.error };
        void exitOrTerminate(worker);
      });
      worker.on('error', (err) => settle({ job, ok: false, error: err.message }));
      worker.on('exit', (code) =>
        settle(outcome ?? { job, ok: false, error: `training worker exited with code ${code}` }),
      );
    });
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const k = next++;
      results[k] = await runOne(jobs[k]);
      opts.onDone?.(results[k]);
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, lane));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  return results;
}
