/**
 * Micro-batching for a server: single-movie calls that arrive while a batch is running are
 * queued and predicted together in the next one (one encoder call, one model call), so that
 * throughput grows with concurrency instead of paying the per-call overhead each time. An idle
 * batcher starts at once: a lone request never waits for a timer.
 */
import type { PredictOptions, Predictor } from './predictor.js';
import type { Prediction, PredictInput, ThresholdKind } from './types.js';

interface Pending {
  input: PredictInput;
  threshold: ThresholdKind;
  resolve(p: Prediction): void;
  reject(err: unknown): void;
}

export interface BatcherStats {
  batches: number;
  predictions: number;
  largestBatch: number;
  queued: number;
}

export class PredictionBatcher {
  private queue: Pending[] = [];
  private running = false;
  private readonly stats = { batches: 0, predictions: 0, largestBatch: 0 };

  constructor(
    readonly predictor: Predictor,
    private readonly maxBatch = 32,
  ) {}

  /** One movie's prediction; rejects with NoUsableInputError when none of its inputs is usable. */
  predict(input: PredictInput, opts: PredictOptions = {}): Promise<Prediction> {
    return new Promise<Prediction>((resolve, reject) => {
      this.queue.push({ input, threshold: opts.threshold ?? this.predictor.threshold, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  getStats(): BatcherStats {
    return { ...this.stats, queued: this.queue.length };
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        this.stats.batches++;
        this.stats.predictions += batch.length;
        this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
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
      }
    } finally {
      this.running = false;
    }
  }
}
