/** Worker thread of trainMany: trains one job and posts the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../runs/config.js';
import type { TrainJob, TrainWorkerEpoch, TrainWorkerReply } from './many.js';
import { trainFromConfig } from './pipeline.js';

const job = workerData as TrainJob & { reportEpochs?: boolean };
const controller = new AbortController();
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'abort') controller.abort();
});

try {
  const result = await trainFromConfig(loadConfig(job.config), job.data, {
    out: job.out,
    resume: job.resume,
    overrides: job.overrides,
    signal: controller.signal,
    backend: job.backend,
    onlyIds: job.onlyIds,
    sourcesDir: job.sourcesDir,
    cacheDir: job.cacheDir,
    // One thread per training: the parallelism is across trainings.
    extractWorkers: 0,
    progress: false,
    onEpoch: job.reportEpochs
      ? (epoch) => parentPort!.postMessage({ epoch } satisfies TrainWorkerEpoch)
      : undefined,
  });
  parentPort!.postMessage({ ok: true, result } satisfies TrainWorkerReply);
} catch (err) {
  parentPort!.postMessage({
    ok: false,
    error: err instanceof Error ? err.message : String(err),
  } satisfies TrainWorkerReply);
} finally {
  // Nothing else keeps the thread alive: it exits by itself (see trainMany).
  parentPort!.close();
}
