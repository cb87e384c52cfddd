/**
 * Micro-batching for a server: single-movie calls that arrive while a batch is running are
 * queued and predicted together in the next one (one encoder call, one model call), so that
 * throughput grows with concurrency instead of paying the per-call overhead each time. An idle
 * batcher starts at once: a lone request never waits for a timer.
 *
 * Every call has a deadline (`deadlineMs` after it arrived, 1 s by default) by which it is
 * answered or refused with a BusyError, never later: a call is refused at once when the queue is
 * full or when the batches ahead of it, plus its own, would end past its admission horizon (40% of
 * the deadline by default); a queued call is refused when too little time is left for a batch of
 * one; and a batch takes only as many calls as it can finish before the earliest of their
 * deadlines. Costs are learnt from the batches run (a fixed part per batch, a part per movie).
 *
 * Why a horizon short of the deadline: a client sees more than the server does (the time its
 * request waits to be read, and its answer to be read back), and on a saturated machine that was
 * up to a few hundred ms. Admitting only what should end well before the deadline makes refusals
 * immediate instead of late, and leaves the rest of the deadline for what the server cannot see.
 */
import { MmgenreError } from '../util/errors.js';
import type { PredictOptions, Predictor } from './predictor.js';
import type { Prediction, PredictInput, ThresholdKind } from './types.js';

interface Pending {
  input: PredictInput;
  threshold: ThresholdKind;
  /** performance.now() by which the call must be answered or refused. */
  deadline: number;
  /**
   * Queued: refuses the call once too little time is left for a batch to end by the deadline.
   * In a batch: refuses it if the batch runs past the deadline (its result is then dropped).
   */
  timer: NodeJS.Timeout;
  resolve(p: Prediction): void;
  reject(err: unknown): void;
}

export interface BatcherStats {
  batches: number;
  predictions: number;
  largestBatch: number;
  queued: number;
  /** Calls refused because the queue was full or could not end by their deadline (BusyError). */
  refused: number;
  /** Of those, calls refused while their batch ran, because it ran past their deadline. */
  overran: number;
  /** Mean time of one batch item, in ms (moving average). */
  itemMillis: number;
}

export interface BatcherOptions {
  /** Largest batch sent through the predictor at once (default 32). */
  maxBatch?: number;
  /** Most calls waiting (default 512). */
  maxQueue?: number;
  /** Each call is answered or refused within this many ms of its arrival (default 1000). */
  deadlineMs?: number;
  /** A call is admitted only when it should end within this many ms of its arrival (default 40% of deadlineMs). */
  admitWithinMs?: number;
}

/** A call's arrival, when it came before predict() (a server reads the upload first). */
export interface BatchedPredictOptions extends PredictOptions {
  /** performance.now() when the request arrived (default: now). */
  receivedAt?: number;
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

/**
 * A BusyError without a stack trace: a refusal is routine, not a bug, and nothing reads its stack;
 * capturing one cost about 9 µs, at thousands of refusals per second under overload.
 */
function busy(message: string, retryAfterSeconds: number): BusyError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new BusyError(message, retryAfterSeconds);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The default deadline of a call (ms after its arrival). */
export const DEFAULT_DEADLINE_MS = 1000;

/** The default admission horizon, as a share of the deadline. */
const ADMIT_WITHIN = 0.4;

/** Retry-After, in whole seconds (at least 1), for an expected wait in ms. */
function retryAfter(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

export class PredictionBatcher {
  private queue: Pending[] = [];
  private running = false;
  /** A drain is due at the next check phase (see schedule). */
  private scheduled = false;
  private batchStartedAt = 0;
  private batchSize = 0;
  /** Moving average of one item's share of a batch's time (ms); batches of one cost more per item. */
  private itemMillis = 0;
  private batchOverheadMillis = 0;
  /** Batches timed so far (the warm-up's included): the first pays for warm-up and teaches nothing. */
  private timed = 0;
  /**
   * How much longer than planned recent batches ran (≥ 1): jumps to a batch's ratio at once and
   * decays back, so that plans stay safe while the machine is busier than the averages say.
   */
  private surprise = 1;
  private readonly stats = { batches: 0, predictions: 0, largestBatch: 0, refused: 0, overran: 0 };
  /** Calls admitted whose input is still being read (see admit). */
  private admitted = 0;
  private readonly maxBatch: number;
  private readonly maxQueue: number;
  private readonly deadlineMs: number;
  private readonly admitWithinMs: number;
  /**
   * Time kept back from every deadline for what follows a batch (writing the answer), for what
   * the server does not see (a request waiting to be read: about 100 ms on a saturated machine)
   * and for error in the learnt costs.
   */
  private readonly slackMs: number;

  constructor(
    readonly predictor: Predictor,
    opts: BatcherOptions | number = {},
  ) {
    const o = typeof opts === 'number' ? { maxBatch: opts } : opts;
    this.maxBatch = o.maxBatch ?? 32;
    this.maxQueue = o.maxQueue ?? 512;
    this.deadlineMs = o.deadlineMs ?? DEFAULT_DEADLINE_MS;
    this.admitWithinMs = Math.min(this.deadlineMs, o.admitWithinMs ?? this.deadlineMs * ADMIT_WITHIN);
    this.slackMs = Math.max(50, this.deadlineMs * 0.15);
  }

  /**
   * One movie's prediction; rejects with NoUsableInputError when none of its inputs is usable,
   * and with BusyError when it cannot be answered by its deadline.
   */
  predict(input: PredictInput, opts: BatchedPredictOptions = {}): Promise<Prediction> {
    const now = performance.now();
    const receivedAt = opts.receivedAt ?? now;
    const deadline = receivedAt + this.deadlineMs;
    const refusal = this.refusal(receivedAt + this.admitWithinMs - now);
    if (refusal) {
      this.stats.refused++;
      return Promise.reject(refusal);
    }
    return new Promise<Prediction>((resolve, reject) => {
      const pending: Pending = {
        input,
        threshold: opts.threshold ?? this.predictor.threshold,
        deadline,
        timer: setTimeout(
          () => this.expire(pending),
          Math.max(0, deadline - this.slackMs - this.cost(1) - now),
        ),
        resolve,
        reject,
      };
      this.queue.push(pending);
      this.schedule();
    });
  }

  /**
   * Admit a call before its input is read (a server's upload and image checks take time too):
   * throws BusyError when it would be refused anyway, so that the refusal is immediate. The caller
   * calls the returned release() once it has called predict() or given up.
   */
  admit(): () => void {
    const refusal = this.refusal(this.admitWithinMs);
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

  /**
   * Before the first call (or to start the estimates afresh): one prediction (the first is slow:
   * models load, kernels compile), then one batch of `inputs` whose time seeds the cost estimates,
   * so that the first burst of calls is admitted or refused on real costs. Neither counts in the
   * stats; their errors are ignored. The inputs should be new to the predictor: an answer from a
   * cache would teach costs far below a real call's.
   */
  async warmUp(inputs: PredictInput[]): Promise<void> {
    if (!inputs.length) return;
    this.timed = 0;
    this.itemMillis = 0;
    this.batchOverheadMillis = 0;
    this.surprise = 1;
    const time = async (batch: PredictInput[]) => {
      const started = performance.now();
      await this.predictor.predictSettled(batch).catch(() => undefined);
      this.learn(batch.length, performance.now() - started);
    };
    await time(inputs.slice(0, 1));
    await time(inputs.slice(1));
    // Timed on an idle machine: under load the same batch takes longer (a busy CPU is shared with
    // the request handling). Plans start cautious, and the first real batches correct them.
    this.surprise = 3;
  }

  getStats(): BatcherStats {
    return { ...this.stats, queued: this.queue.length, itemMillis: this.itemMillis };
  }

  /** The wait a new call would have before its batch starts (estimated from recent batches). */
  expectedWaitMs(): number {
    const ahead = this.queue.length + this.admitted;
    if (!this.running && ahead < this.maxBatch) return 0;
    const elapsed = performance.now() - this.batchStartedAt;
    // A batch past its plan is not about to end (the CPU is busier than the estimates say): reading
    // its remaining time as 0 admitted calls that then missed their deadlines. It is taken to need
    // half as long again as it has run.
    const current = this.running ? Math.max(this.cost(this.batchSize) - elapsed, elapsed / 2) : 0;
    return current + Math.floor(ahead / this.maxBatch) * this.cost(this.maxBatch);
  }

  /**
   * Planned time of a batch of n (ms): the learnt costs, widened by recent surprises unless
   * `cautious` is false (used to give up on a queued call only when even the plain estimate says
   * it cannot end in time).
   */
  private cost(n: number, cautious = true): number {
    return (this.batchOverheadMillis + this.itemMillis * n) * (cautious ? this.surprise : 1);
  }

  /** Why a new call with `budgetMs` left to its admission horizon is refused now, or null. */
  private refusal(budgetMs: number): BusyError | null {
    // An idle batcher tries every call: refusing on estimates alone could refuse forever after one
    // slow batch (a first call's warm-up), since no batch would run to correct them.
    if (!this.running && this.queue.length + this.admitted === 0) return null;
    const wait = this.expectedWaitMs();
    const retry = retryAfter(wait);
    const waiting = this.queue.length + this.admitted;
    if (waiting >= this.maxQueue) {
      return busy(`the server is busy: ${waiting} predictions are waiting`, retry);
    }
    const own = this.cost(Math.min(this.maxBatch, (waiting % this.maxBatch) + 1));
    if (wait + own + this.slackMs > budgetMs) {
      return busy(`the server is busy: a prediction would take about ${Math.round(wait + own)} ms`, retry);
    }
    return null;
  }

  /** Refuse a queued call whose deadline can no longer be met (no-op once it is in a batch). */
  private expire(p: Pending): void {
    const at = this.queue.indexOf(p);
    if (at < 0) return;
    this.queue.splice(at, 1);
    this.refuse(p);
  }

  private refuse(p: Pending, why = 'could not start in time'): void {
    clearTimeout(p.timer);
    this.stats.refused++;
    p.reject(busy(`the server is busy: the prediction ${why}`, retryAfter(this.expectedWaitMs())));
  }

  /** Refuse a call whose batch is still running at its deadline (less the slack). */
  private overrun(p: Pending): void {
    this.stats.overran++;
    // The batch's later resolve() of this call is a no-op: a promise settles once.
    this.refuse(p, 'did not finish in time');
  }

  /** The calls of the next batch: as many as can end by the earliest of their deadlines (at least one). */
  private nextBatch(now: number): Pending[] {
    const late = this.queue.filter((p) => now + this.cost(1, false) + this.slackMs > p.deadline);
    if (late.length) {
      this.queue = this.queue.filter((p) => !late.includes(p));
      late.forEach((p) => this.refuse(p));
    }
    let n = 0;
    let earliest = Infinity;
    while (n < Math.min(this.maxBatch, this.queue.length)) {
      const d = Math.min(earliest, this.queue[n].deadline);
      if (n > 0 && now + this.cost(n + 1) + this.slackMs > d) break;
      earliest = d;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /**
   * Run the queue from the event loop's next check phase, not from the caller's: the calls whose
   * requests arrive in the same poll phase then share one batch. Node accepts about one new
   * connection per loop turn, so a server whose every request ran its prediction inline had turns
   * of 100 ms and more under load, and new connections waited seconds to be accepted.
   */
  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let first = true; ; first = false) {
        // One batch per loop turn: between two, the server reads requests and accepts connections.
        if (!first) await new Promise((resolve) => setImmediate(resolve));
        const now = performance.now();
        const batch = this.nextBatch(now);
        if (!batch.length) break;
        for (const p of batch) {
          clearTimeout(p.timer);
          // A batch can run longer than planned (a CPU shared with other work): the deadline holds.
          p.timer = setTimeout(() => this.overrun(p), Math.max(0, p.deadline - this.slackMs - now));
        }
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
        for (const p of batch) clearTimeout(p.timer);
        this.learn(batch.length, performance.now() - now);
      }
    } finally {
      this.running = false;
    }
  }

  /** Update the per-item and per-batch cost estimates (a batch of n costs about overhead + n·item). */
  private learn(n: number, millis: number): void {
    const a = 0.2;
    this.timed++;
    // The first batch pays for warm-up (sessions, caches): it teaches nothing about the others.
    if (this.timed === 1) return;
    const planned = this.batchOverheadMillis + this.itemMillis * n;
    if (planned > 0) this.surprise = Math.max(millis / planned, 1 + 0.8 * (this.surprise - 1));
    if (this.timed === 2) {
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
