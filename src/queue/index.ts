/** Scaling out over BullMQ + Redis: extraction and batch prediction as queued shards, and the worker. */
export { parseQueueUrl, DEFAULT_QUEUE_NAME, type QueueTarget } from './connection.js';
export { QueueError, UnprocessedMoviesError, type UnprocessedMovie } from './errors.js';
export { queueChunkRunner, DEFAULT_SHARD_ROWS, type QueueRunOptions } from './features.js';
export { predictDatasetOnQueue, type QueuePredictOptions } from './predict.js';
export { runQueueWorker, type QueueWorkerOptions, type QueueWorkerReport } from './worker.js';
