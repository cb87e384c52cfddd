/**
 * Computing an extraction's missing chunks: on worker threads (chunks handed out one at a time
 * to whichever worker is free), in the calling thread, or through a ChunkRunner; each finished
 * chunk is written to every entry that lacks it.
 */
import type { Worker } from 'node:worker_threads';
import type { Dataset, MovieRecord } from '../data/types.js';
import { progress as progressBar } from '../util/progress.js';
import { defaultWorkers, exitOrTerminate, siblingModule, startWorker } from '../util/workers.js';
import { buildComputer, type ChunkOutput, type ComputerSpec } from './compute.js';
import { jointOptionsOf, resolveEncoder } from './registry.js';
import { chunkSourcesHash, sha256, stableJson, writeChunk, type ChunkRecord } from './store.js';
import type { Encoder } from './types.js';
import type { ChunkSlot, OpenEntry } from './plan.js';
import type { ExtractOptions } from './extract-options.js';

/**
 * Compute the chunks any entry of `group` lacks: with one entry, by its own encoder; with
 * several, by one joint encoder whose rows are cut into each entry's part (one network run per
 * poster for all of them).
 */
export async function computeEntries(
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
