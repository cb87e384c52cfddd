// A worker module in TypeScript (type annotations and all), for the startWorker test.
import { parentPort, workerData } from 'node:worker_threads';

const input: { n: number } = workerData as { n: number };
parentPort?.postMessage({ doubled: input.n * 2 });
