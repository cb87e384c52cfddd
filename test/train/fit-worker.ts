// Worker module for the cross-thread determinism test: trains a small synthetic task with the
// settings it is given and posts the per-epoch history and the final weights.
import { parentPort, workerData } from 'node:worker_threads';
import { trainGmuLike, type DeterminismJob } from './determinism-task.js';

parentPort!.postMessage(await trainGmuLike(workerData as DeterminismJob));
