/**
 * A poster encoder run in a worker thread of its own. onnxruntime-node runs a session
 * synchronously on the calling thread: in a server, a batch of posters through the CNN would
 * hold the event loop for the whole batch, so that no request could be answered or refused
 * meanwhile. In a thread, only the rows come back to the main thread.
 */
import type { Worker } from 'node:worker_threads';
import type { MovieRecord } from '../data/types.js';
import { exitOrTerminate, siblingModule, startWorker } from '../util/workers.js';
import type { ThreadReply, ThreadRequest } from './encoder-thread.js';
import type { PredictorEncoder } from './scorer.js';
import { PredictorError } from './types.js';

type Rows = Array<Float32Array | { error: string }>;

/** Threads told to stop and not yet gone. */
const stopping = new Set<Promise<void>>();

/**
 * Resolves once every disposed encoder's thread has ended: a process that exits while a thread
 * still releases its onnxruntime session aborts ("terminate called after throwing ...").
 */
export async function encoderThreadsStopped(): Promise<void> {
  await Promise.all([...stopping]);
}

/** Encoders on onnxruntime, the ones worth a thread (tfjs encoders keep their own engine). */
export function runsOnOnnxruntime(name: string): boolean {
  return name === 'onnx' || name.endsWith('_onnx');
}

export class ThreadedEncoder implements PredictorEncoder {
  dim = 0;
  private worker: Worker | null = null;
  private broken: string | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(r: Rows): void; reject(e: Error): void }>();

  constructor(
    readonly name: string,
    private readonly options: Record<string, unknown>,
  ) {}

  async init(): Promise<void> {
    const worker = startWorker(siblingModule(import.meta.url, 'encoder-thread'), {
      workerData: { name: this.name, options: this.options },
    });
    let ready: { resolve(dim: number): void; reject(e: Error): void } | null = null;
    const started = new Promise<number>((resolve, reject) => (ready = { resolve, reject }));
    const fail = (why: string) => {
      this.broken = why;
      ready?.reject(new PredictorError(why));
      for (const p of this.pending.values()) p.reject(new PredictorError(why));
      this.pending.clear();
    };
    // One set of listeners for the thread's life (removing a worker's 'message' listeners
    // stops its port, and later replies would never arrive).
    worker.on('message', (m: ThreadReply) => {
      if (m.type === 'ready') return ready?.resolve(m.dim);
      if (m.type === 'fatal') return fail(m.message);
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.type === 'rows') p?.resolve(m.rows);
      else p?.reject(new PredictorError(m.message));
    });
    worker.on('error', (err) => fail(`the poster encoder thread failed: ${err.message}`));
    worker.on('exit', (code) => fail(`the poster encoder thread exited (${code})`));
    try {
      this.dim = await started;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    ready = null;
    // An idle thread does not keep the process alive.
    worker.unref();
    this.worker = worker;
  }

  encode(records: MovieRecord[]): Promise<Rows> {
    if (!this.worker || this.broken)
      return Promise.reject(new PredictorError(this.broken ?? 'the poster encoder is not initialised'));
    // Only what an image encoder reads crosses the thread: the id and the poster's path.
    const plain = records.map((r) => ({
      id: r.id,
      plot: null,
      genres: [],
      posterPath: r.posterPath,
      meta: {},
    })) as MovieRecord[];
    const id = this.nextId++;
    return new Promise<Rows>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker!.ref();
      this.worker!.postMessage({ type: 'encode', id, records: plain } satisfies ThreadRequest);
    });
  }

  dispose(): void {
    const w = this.worker;
    this.worker = null;
    if (!w) return;
    this.broken = 'the poster encoder was disposed';
    w.removeAllListeners('exit');
    w.postMessage({ type: 'stop' } satisfies ThreadRequest);
    const gone = exitOrTerminate(w, 5_000).finally(() => stopping.delete(gone));
    stopping.add(gone);
  }
}
