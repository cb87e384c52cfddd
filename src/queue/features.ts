/**
 * Feature extraction over the queue: the cache plans as usual (what is missing, the chunk layout,
 * one lock, one writer), and this runner has the pending chunks computed by queue workers, a
 * shard of consecutive chunks per job. Chunk bytes never depend on where they were computed, so
 * the finished cache is the one an in-process run writes.
 */
import { sha256, identityOptions } from '../features/store.js';
import type { ChunkRunner, ChunkSlot } from '../features/extract.js';
import { parseQueueUrl } from './connection.js';
import { runShards, type Shard } from './coordinator.js';
import { QueueError, UnprocessedMoviesError } from './errors.js';
import {
  datasetFolder,
  fileOption,
  FeaturesResultHeader,
  toJobRecord,
  unpackResult,
  type JobRecord,
} from './jobs.js';

export interface QueueRunOptions {
  /** redis:// or rediss:// URL. */
  queue: string;
  queueName?: string;
  /** Movies per job (rounded to whole cache chunks; default 256). */
  shardRows?: number;
  /** Jobs in Redis at once (default 32). */
  window?: number;
}

export const DEFAULT_SHARD_ROWS = 256;

export function queueChunkRunner(opts: QueueRunOptions): ChunkRunner {
  const target = parseQueueUrl(opts.queue, opts.queueName);
  return {
    label: `queue ${target.display}`,
    async run(job) {
      if (job.spec.module) {
        throw new QueueError(
          `encoder '${job.spec.encoderName}' is registered at run time: queue workers run only the built-in encoders`,
          'run without --queue',
        );
      }
      const options = identityOptions(job.spec.options); // cacheDir: each worker keeps its own
      const fileKey = fileOption(options);
      if (fileKey) {
        throw new QueueError(
          `encoder option '${fileKey}' names a file: queue workers do not take file paths from jobs`,
          'run without --queue',
        );
      }
      const folder = datasetFolder({ root: job.datasetRoot });
      // Every poster must lie in the dataset folder: checked before anything is enqueued.
      const jobRecords: JobRecord[] = job.records.map((r) => toJobRecord(r, folder));
      const chunkRows = Math.max(1, job.slots[0].end - job.slots[0].start);
      const per = Math.max(1, Math.round((opts.shardRows ?? DEFAULT_SHARD_ROWS) / chunkRows));
      const pending = new Set(job.pending.map((s) => s.index));
      const groups = new Map<number, ChunkSlot[]>();
      for (const s of job.slots) {
        const g = Math.floor(s.index / per);
        groups.set(g, [...(groups.get(g) ?? []), s]);
      }
      const slotByIndex = new Map(job.slots.map((s) => [s.index, s]));
      const shards: Shard[] = [...groups.entries()]
        .filter(([, slots]) => slots.some((s) => pending.has(s.index)))
        .map(([g, slots]) => ({
          index: g,
          movies: slots.flatMap((s) => job.records.slice(s.start, s.end).map((r) => r.id)),
          // The whole group, done chunks too: a job adopted after a restart then covers it all.
          build: () => ({
            kind: 'features' as const,
            run: sha256(`${job.key}|${per}`).slice(0, 32),
            root: folder,
            spec: { ...job.spec, options, module: '' as const },
            modality: job.modality,
            chunks: slots.map((s) => ({
              index: s.index,
              start: s.start,
              end: s.end,
              records: jobRecords.slice(s.start, s.end),
            })),
          }),
        }));
      const report = await runShards({
        target,
        run: sha256(`${job.key}|${per}`).slice(0, 32),
        shards,
        window: opts.window,
        signal: job.signal,
        onStatus: (text) => job.status(text),
        onResult(_shard, buf) {
          const { header, data } = unpackResult(buf);
          const h = FeaturesResultHeader.parse(header);
          let offset = 0;
          const outs = h.chunks.map((c) => {
            const slot = slotByIndex.get(c.index);
            if (!slot || slot.start !== c.start || slot.end !== c.end)
              throw new Error(`chunk ${c.index} does not match this extraction's layout`);
            const bytes = data.subarray(offset, offset + c.bytes);
            offset += c.bytes;
            if (bytes.length !== c.bytes) throw new Error(`chunk ${c.index} is truncated`);
            return {
              slot,
              out: { bytes, errors: c.errors, contentHashes: c.contentHashes, values: c.values },
            };
          });
          for (const { slot, out } of outs) job.onChunk(slot, out);
        },
      });
      if (report.failed.length) throw new UnprocessedMoviesError(report.failed);
    },
  };
}
