/**
 * `mmgenre serve --workers N`: N server processes (node:cluster) share one port, so that poster
 * decoding, the CNN and the model run on every core. Each worker is a whole server
 * (startServer): it loads the run once, keeps it in memory, batches its own concurrent requests
 * and refuses with 503 + Retry-After when its queue is full. The primary process only hands out
 * connections (round-robin), restarts a worker that dies and stops them all on close.
 *
 * Processes rather than worker threads: the server, its encoders (onnxruntime, sharp, the tfjs
 * model) and the batcher run unchanged in each, and one crashed worker does not take the others
 * down.
 */
import cluster, { type Worker } from 'node:cluster';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MmgenreError, type ErrorKind } from '../util/errors.js';
import type { ServeOptions } from './server.js';

export interface RunningCluster {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  /** Process ids of the live workers. */
  pids(): number[];
  close(): Promise<void>;
}

/** Messages between the primary and a worker (src/serve/cluster-worker.ts). */
export type ToWorker = { type: 'start'; options: ServeOptions } | { type: 'stop' };
export type FromWorker =
  /** Sent once the worker listens for messages (one sent before would be lost). */
  | { type: 'ready' }
  | { type: 'listening'; url: string; port: number }
  | { type: 'failed'; message: string; kind?: ErrorKind; hint?: string; code?: string };

/** Restarts allowed per minute before a crashing worker is left down (a crash loop helps no one). */
const MAX_RESTARTS_PER_MINUTE = 5;
const STOP_GRACE_MS = 10_000;

/** The worker's entry module, and how to run it when this process runs the TypeScript sources. */
function workerEntry(): { exec: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const exec = join(dirname(here), `cluster-worker.${fromSource ? 'ts' : 'js'}`);
  const execArgv = [...process.execArgv];
  // From the sources the worker needs tsx's loader, which `bin/mmgenre.js` registers in-process
  // (not on the command line a fork copies).
  if (fromSource && !execArgv.some((a) => a.includes('tsx'))) {
    execArgv.push('--import', import.meta.resolve('tsx'));
  }
  return { exec, execArgv };
}

function startFailure(m: Extract<FromWorker, { type: 'failed' }>): Error {
  if (m.kind) return new MmgenreError(m.kind, m.message, { hint: m.hint });
  const err = new Error(m.message) as NodeJS.ErrnoException;
  if (m.code) err.code = m.code;
  return err;
}

/**
 * Start `workers` server processes on opts.host:opts.port (port 0: one free port for all) and
 * resolve once every one of them listens; rejects with the first worker's start-up error.
 */
export async function startCluster(opts: ServeOptions, workers: number): Promise<RunningCluster> {
  if (!cluster.isPrimary) throw new Error('startCluster runs in the primary process');
  if (!Number.isInteger(workers) || workers < 1)
    throw new MmgenreError('input', `workers must be a whole number >= 1, got ${workers}`);
  cluster.setupPrimary({ ...workerEntry(), args: [] });

  const live = new Set<Worker>();
  const restarts: number[] = [];
  let closing = false;
  // Connection and queue caps given for the server are split between the workers (the primary
  // hands out connections in turn, roughly: the split is approximate).
  const share = (n: number | undefined) =>
    n === undefined ? undefined : Math.max(1, Math.ceil(n / workers));
  const options: ServeOptions = {
    ...opts,
    maxConnections: share(opts.maxConnections),
    maxQueue: share(opts.maxQueue),
  };

  /** Fork one worker and resolve when it listens. */
  const fork = (): Promise<Extract<FromWorker, { type: 'listening' }>> => {
    const worker = cluster.fork();
    live.add(worker);
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') worker.send({ type: 'start', options } satisfies ToWorker);
        else if (m.type === 'listening') {
          listening = true;
          resolve(m);
        } else if (m.type === 'failed') reject(startFailure(m));
      });
      worker.once('exit', (code, signal) => {
        live.delete(worker);
        if (!listening) {
          reject(new Error(`a server worker exited (${signal ?? code}) before listening`));
          return;
        }
        if (closing) return;
        const now = Date.now();
        while (restarts.length && now - restarts[0] > 60_000) restarts.shift();
        if (restarts.length >= MAX_RESTARTS_PER_MINUTE) {
          process.stderr.write(
            `mmgenre serve: a worker exited (${signal ?? code}); ${live.size} left (too many restarts to start another)\n`,
          );
          return;
        }
        restarts.push(now);
        process.stderr.write(`mmgenre serve: a worker exited (${signal ?? code}); starting another\n`);
        fork().catch((err: unknown) =>
          process.stderr.write(`mmgenre serve: the new worker failed: ${(err as Error).message}\n`),
        );
      });
    });
  };

  const stopAll = async (): Promise<void> => {
    closing = true;
    await Promise.all(
      [...live].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), STOP_GRACE_MS);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            if (w.isConnected()) w.send({ type: 'stop' } satisfies ToWorker);
            else w.process.kill('SIGTERM');
          }),
      ),
    );
  };

  let first: Extract<FromWorker, { type: 'listening' }>;
  try {
    // The first worker's listen makes the primary open the port (port 0: a free one); the others
    // ask for the same address and get the same socket, port 0 included.
    first = await fork();
    await Promise.all(Array.from({ length: workers - 1 }, fork));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    url: first.url,
    port: first.port,
    pids: () => [...live].map((w) => w.process.pid!).filter((p) => p !== undefined),
    close: stopAll,
  };
}
