/**
 * Micro-batching for a server: single-movie calls that arrive while a batch is running are
 * queued and predicted together in the next one (one encoder call, one model call), so that
 * throughput grows with concurrency instead of paying the per-call overhead each time. An idle
 * batcher starts at once: a lone request never waits for a timer.
 *
 * The queue is bounded (back-pressure): a call is refused at once with a BusyError when the queue
 * is full or when the batches ahead of it would keep it waiting longer than `maxWaitMs`, and a
 * call still queued after `maxWaitMs` is refused then. A caller is answered or
 * refused quickly; it never waits for a timeout.
 */
import { MmgenreError } from '../util/errors.js';
import type { PredictOptions, Predictor } from './predictor.js';
import type { Prediction, PredictInput, ThresholdKind } from './types.js';

interface Pending {
  input: PredictInput;
  threshold: ThresholdKind;
  queuedAt: number;
  /** Refuses the call if its batch has not started after maxWaitMs. */
  timer: NodeJS.Timeout;
  resolve(p: Prediction): void;
  reject(err: unknown): void;
}

export interface BatcherStats {
  batches: number;
  predictions: number;
  largestBatch: number;
  queued: number;
  /** Calls refused because the queue was full or too slow (BusyError). */
  refused: number;
  /** Mean time of one batch item, in ms (moving average). */
  itemMillis: number;
}

export interface BatcherOptions {
  /** Largest batch sent through the predictor at once (default 32). */
  maxBatch?: number;
  /** Most calls waiting (default 512). */
  maxQueue?: number;
  /** Longest a call may wait for its batch to start, in ms (default 800). */
  maxWaitMs?: number;
}

/** The predictor is saturated: try again after `retryAfterSeconds`. */
export class BusyError extends MmgenreError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('busy', message, { hint: `retry after ${retryAfterSeconds} s` });
  }
}

export class PredictionBatcher {
  private queue: Pending[] = [];
  private running = false;
  private batchStartedAt = 0;
  private batchSize = 0;
  /** Moving average of one item's share of a batch's time (ms); batches of one cost more per item. */
  private itemMillis = 0;
  private batchOverheadMillis = 0;
  private readonly stats = { batches: 0, predictions: 0, largestBatch: 0, refused: 0 };
  /** Calls admitted whose input is still being read (see admit). */
  private admitted = 0;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly maxWaitMs: number;

  constructor(
    readonly predictor: Predictor,
    opts: BatcherOptions | number = {},
  ) {
    const o = typeof opts === 'number' ? { maxBatch: opts } : opts;
    this.maxBatch = o.maxBatch ?? 32;
    this.maxQueue = o.maxQueue ?? 512;
    this.maxWaitMs = o.maxWaitMs ?? 800;
  }

  /**
   * One movie's prediction; rejects with NoUsableInputError when none of its inputs is usable,
   * and with BusyError when the queue cannot take it in time.
   */
  predict(input: PredictInput, opts: PredictOptions = {}): Promise<Prediction> {
    const refusal = this.refusal();
    if (refusal) {
      this.stats.refused++;
      return Promise.reject(refusal);
    }
    return new Promise<Prediction>((resolve, reject) => {
      const pending: Pending = {
        input,
        threshold: opts.threshold ?? this.predictor.threshold,
        queuedAt: performance.now(),
        timer: setTimeout(() => {
          const at = this.queue.indexOf(pending);
          if (at < 0) return; // already in a batch
          this.queue.splice(at, 1);
          this.stats.refused++;
          reject(new BusyError('the server is busy: the prediction waited too long to start', 1));
        }, this.maxWaitMs),
        resolve,
        reject,
      };
      this.queue.push(pending);
      if (!this.running) void this.drain();
    });
  }

  /**
   * Admit a call before its input is read (a server's upload and image checks take time too):
   * throws BusyError when it would be refused anyway, so that the refusal is immediate. The caller
   * calls the returned release() once it has called predict() or given up.
   */
  admit(): () => void {
    const refusal = this.refusal();
    if (refusal) {
      this.stats.refused++;
      throw refusal;
    }
    this.admitted++;
    let released = false;
    return () => {
      if (!released) this.admitted--;
      released = true;
    };
  }

  getStats(): BatcherStats {
    return { ...this.stats, queued: this.queue.length, itemMillis: this.itemMillis };
  }

  /** The wait a new call would have before its batch starts (estimated from recent batches). */
  expectedWaitMs(): number {
    const ahead = this.queue.length + this.admitted;
    if (!this.running && ahead < this.maxBatch) return 0;
    const now = performance.now();
    const current = this.running
      ? Math.max(0, this.batchOverheadMillis + this.itemMillis * this.batchSize - (now - this.batchStartedAt))
      : 0;
    const batchesAhead = Math.floor(ahead / this.maxBatch);
    const fullBatch = this.batchOverheadMillis + this.itemMillis * this.maxBatch;
    return current + batchesAhead * fullBatch;
  }

  private refusal(): BusyError | null {
    const retry = Math.max(1, Math.ceil(this.expectedWaitMs() / 1000));
    const waiting = this.queue.length + this.admitted;
    if (waiting >= this.maxQueue) {
      return new BusyError(`the server is busy: ${waiting} predictions are waiting`, retry);
    }
    const wait = this.expectedWaitMs();
    if (wait > this.maxWaitMs) {
      return new BusyError(
        `the server is busy: a prediction would wait about ${Math.round(wait)} ms to start`,
        retry,
      );
    }
    return null;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const now = performance.now();
        const batch = this.queue.splice(0, this.maxBatch);
        for (const p of batch) clearTimeout(p.timer);
        this.stats.batches++;
        this.stats.predictions += batch.length;
        this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
        this.batchStartedAt = now;
        this.batchSize = batch.length;
        for (const kind of new Set(batch.map((b) => b.threshold))) {
          const group = batch.filter((b) => b.threshold === kind);
          try {
            const results = await this.predictor.predictSettled(
              group.map((g) => g.input),
              { threshold: kind },
            );
            results.forEach((r, i) => (r instanceof Error ? group[i].reject(r) : group[i].resolve(r)));
          } catch (err) {
            group.forEach((g) => g.reject(err));
          }
        }
        this.learn(batch.length, performance.now() - now);
      }
    } finally {
      this.running = false;
    }
  }

  /** Update the per-item and per-batch cost estimates (a batch of n costs about overhead + n·item). */
  private learn(n: number, millis: number): void {
    const a = 0.2;
    if (this.stats.batches === 1) {
      this.itemMillis = millis / n;
      this.batchOverheadMillis = 0;
      return;
    }
    // Split the time between a fixed part and a per-item part using the current per-item estimate.
    const overhead = Math.max(0, millis - this.itemMillis * n);
    this.batchOverheadMillis += a * (overhead - this.batchOverheadMillis);
    const perItem = Math.max(0, (millis - this.batchOverheadMillis) / n);
    this.itemMillis += a * (perItem - this.itemMillis);
  }
}
