/**
 * Batch prediction over the queue: the coordinator reads the dataset, cuts its movies into
 * shards and enqueues them; workers (each with the model loaded once) predict a shard with
 * `predictShard`; each finished shard is kept as a part file beside the output, so a restarted
 * coordinator resumes from them; at the end the parts are joined, in order, into the usual
 * predictions JSON Lines file.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadDataset } from '../data/load.js';
import { SPLITS, type SplitName } from '../data/types.js';
import { writePredictions, type PredictionRow } from '../eval/predictions.js';
import { idsHash, sha256, sourceStamps, stableJson } from '../features/store.js';
import { splitRecords, type PredictDatasetResult } from '../predict/dataset.js';
import type { SkippedMovie } from '../predict/shard.js';
import { PredictorError } from '../predict/types.js';
import { RUN_FILES } from '../runs/run.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { progress } from '../util/progress.js';
import { parseQueueUrl } from './connection.js';
import { runShards, type Shard } from './coordinator.js';
import { UnprocessedMoviesError } from './errors.js';
import { datasetFolder, PredictResult, toJobRecord, unpackResult } from './jobs.js';
import { DEFAULT_SHARD_ROWS, type QueueRunOptions } from './features.js';

export interface QueuePredictOptions extends QueueRunOptions {
  out: string;
  split?: SplitName | 'all';
  progress?: boolean;
  signal?: AbortSignal;
}

/** What identifies a run folder's model (its files' sizes and times): a retrained run is new work. */
function modelStamp(dir: string): string {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (!f.startsWith('predictions-')) files.push(`${p}:${st.size}:${Math.round(st.mtimeMs)}`);
    }
  };
  walk(dir);
  return sha256(files.join('\n'));
}

export async function predictDatasetOnQueue(
  runDir: string,
  datasetDir: string,
  opts: QueuePredictOptions,
): Promise<PredictDatasetResult> {
  const t0 = performance.now();
  const target = parseQueueUrl(opts.queue, opts.queueName);
  const model = resolve(runDir);
  if (!existsSync(join(model, RUN_FILES.run)))
    throw new PredictorError(`${runDir} is not a run folder (no ${RUN_FILES.run})`);
  const dataset = await loadDataset(datasetDir, { progress: opts.progress !== false });
  let split: SplitName | 'all' = opts.split ?? 'test';
  if (split !== 'all' && !SPLITS.includes(split)) {
    throw new Error(`unknown split '${String(split)}': use ${SPLITS.join(', ')} or all`);
  }
  if (opts.split === undefined && dataset.splits.test.length === 0) split = 'all';
  const records = splitRecords(dataset, split);
  if (records.length === 0) throw new Error(`${dataset.root}: the ${split} split has no movie to predict`);
  const folder = datasetFolder(dataset);
  const jobRecords = records.map((r) => toJobRecord(r, folder));
  const shardRows = Math.max(1, opts.shardRows ?? DEFAULT_SHARD_ROWS);
  const run = sha256(
    stableJson([
      model,
      modelStamp(model),
      folder,
      idsHash(records.map((r) => r.id)),
      sha256(JSON.stringify(jobRecords)),
      sha256(
        sourceStamps(records, 'poster')
          .map((s) => s.stamp)
          .join('\n'),
      ),
      shardRows,
    ]),
  ).slice(0, 32);

  // Finished shards wait here until the last one is in; a different run starts them afresh.
  const parts = `${resolve(opts.out)}.parts`;
  const keyFile = join(parts, 'run');
  if (!existsSync(keyFile) || readFileSync(keyFile, 'utf8') !== run) {
    rmSync(parts, { recursive: true, force: true });
    mkdirSync(parts, { recursive: true });
    writeFileAtomic(keyFile, run);
  }
  const partFile = (i: number): string => join(parts, `${i.toString().padStart(6, '0')}.json`);
  const shardCount = Math.ceil(records.length / shardRows);
  const readPart = (i: number): PredictResult | null => {
    try {
      return PredictResult.parse(JSON.parse(readFileSync(partFile(i), 'utf8')));
    } catch {
      return null;
    }
  };
  const todo: Shard[] = [];
  let doneRows = 0;
  for (let i = 0; i < shardCount; i++) {
    const start = i * shardRows;
    const end = Math.min(records.length, start + shardRows);
    if (readPart(i)) doneRows += end - start;
    else
      todo.push({
        index: i,
        movies: records.slice(start, end).map((r) => r.id),
        build: () => ({ kind: 'predict', run, root: folder, model, records: jobRecords.slice(start, end) }),
      });
  }

  const bar = progress(`predict ${dataset.name}`, records.length - doneRows, {
    unit: 'movies',
    silent: opts.progress === false,
  });
  let report;
  try {
    report = await runShards({
      target,
      run,
      shards: todo,
      window: opts.window,
      signal: opts.signal,
      onStatus: (text) => bar.status(text),
      onResult(shard, buf) {
        const result = PredictResult.parse(unpackResult(buf).header);
        const ids = new Set(shard.movies);
        const back = result.rows.length + result.skipped.length;
        if (back !== ids.size || ![...result.rows, ...result.skipped].every((r) => ids.has(r.id)))
          throw new Error(`the shard's result does not cover its ${ids.size} movies`);
        writeJsonAtomic(partFile(shard.index), result);
        bar.tick(shard.movies.length);
      },
    });
  } finally {
    bar.stop();
  }
  if (report.failed.length) throw new UnprocessedMoviesError(report.failed);

  const rows: PredictionRow[] = [];
  const skipped: SkippedMovie[] = [];
  const missingByInput: Record<string, number> = {};
  for (let i = 0; i < shardCount; i++) {
    const part = readPart(i);
    if (!part) throw new Error(`shard ${i}'s results vanished from ${parts}: run the command again`);
    rows.push(...(part.rows as PredictionRow[]));
    skipped.push(...part.skipped);
    for (const [k, v] of Object.entries(part.missingByInput))
      missingByInput[k] = (missingByInput[k] ?? 0) + v;
  }
  writePredictions(opts.out, rows);
  rmSync(parts, { recursive: true, force: true });
  return {
    out: opts.out,
    split,
    dataset: { name: dataset.name, root: dataset.root, format: dataset.format },
    rows: rows.length,
    skipped,
    missingByInput,
    seconds: (performance.now() - t0) / 1000,
  };
}
