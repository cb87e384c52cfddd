import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from '../../src/util/workers.js';
import { trainGmuLike, type DeterminismResult } from './determinism-task.js';

function inWorker(seed: number): Promise<DeterminismResult> {
  return new Promise((resolvePromise, reject) => {
    const worker = startWorker(new URL('./fit-worker.ts', import.meta.url), { workerData: { seed } });
    worker.once('message', (m: DeterminismResult) => {
      resolvePromise(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

test(
  'the same seed trains to the same weights in two worker threads at once and in this thread',
  { timeout: 120_000 },
  async () => {
    const [a, b] = await Promise.all([inWorker(7), inWorker(7)]);
    const here = await trainGmuLike({ seed: 7 });
    assert.ok(a.history.at(-1)!.loss < a.history[0].loss, 'it trained');
    assert.deepEqual(b, a, 'two threads at once');
    assert.deepEqual(here, a, 'a worker thread and the main thread');
    const other = await trainGmuLike({ seed: 8 });
    assert.notDeepEqual(other.weights, a.weights, 'another seed differs');
  },
);
