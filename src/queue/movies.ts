/**
 * `predict --input … --queue`: unlabeled movies (a JSON Lines or CSV file, a folder) predicted by
 * queue workers with `predictMovies`, shard by shard; the lines come back in input order, as the
 * in-process command writes them. Posters must lie in the input's folder (workers see it at the
 * same path); a poster elsewhere is that movie's error.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sha256, stableJson } from '../features/store.js';
import type { ThresholdKind } from '../predict/types.js';
import type { UnlabeledMovie, UnreadableMovie } from '../predict/unlabeled.js';
import { PredictorError } from '../predict/types.js';
import { RUN_FILES } from '../runs/run.js';
import { progress } from '../util/progress.js';
import { parseQueueUrl } from './connection.js';
import { runShards, type Shard } from './coordinator.js';
import { UnprocessedMoviesError } from './errors.js';
import { DEFAULT_SHARD_ROWS, type QueueRunOptions } from './features.js';
import { isWithin, MoviesResult, unpackResult, type JobRecord } from './jobs.js';

export interface QueueMoviesOptions extends QueueRunOptions {
  /** The folder the input's posters lie in (the input folder, or the input file's folder). */
  folder: string;
  threshold?: ThresholdKind;
  progress?: boolean;
  signal?: AbortSignal;
}

export async function predictMoviesOnQueue(
  runDir: string,
  movies: UnlabeledMovie[],
  opts: QueueMoviesOptions,
): Promise<{ lines: Array<{ id: string; error?: string }>; failed: UnreadableMovie[] }> {
  const target = parseQueueUrl(opts.queue, opts.queueName);
  const model = resolve(runDir);
  if (!existsSync(join(model, RUN_FILES.run)) && !existsSync(join(model, RUN_FILES.spec)))
    throw new PredictorError(`${runDir} is not a run folder (no ${RUN_FILES.run})`);
  const folder = resolve(opts.folder);
  const refused = new Map<string, string>();
  const records: JobRecord[] = movies.map((m) => {
    let poster: string | null = null;
    const p = m.input.poster;
    if (typeof p === 'string' && p !== '') {
      const abs = resolve(folder, p);
      if (isWithin(abs, folder) && abs !== folder) poster = abs.slice(folder.length + 1);
      else refused.set(m.id, `its poster ${p} lies outside ${folder}, the folder queue workers read`);
    }
    return {
      id: m.id,
      plot: m.input.plot ?? null,
      ...(m.title !== undefined ? { title: m.title } : {}),
      ...(m.input.companies !== undefined ? { companies: m.input.companies } : {}),
      poster,
    };
  });
  const shardRows = Math.max(1, opts.shardRows ?? DEFAULT_SHARD_ROWS);
  const run = sha256(
    stableJson([model, folder, opts.threshold ?? '', shardRows, sha256(JSON.stringify(records))]),
  ).slice(0, 32);
  const shards: Shard[] = [];
  for (let i = 0; i * shardRows < records.length; i++) {
    const slice = records.slice(i * shardRows, (i + 1) * shardRows);
    shards.push({
      index: i,
      movies: slice.map((r) => r.id),
      build: () => ({
        kind: 'movies',
        run,
        root: folder,
        model,
        ...(opts.threshold ? { threshold: opts.threshold } : {}),
        records: slice,
      }),
    });
  }
  const results = new Map<number, MoviesResult>();
  const bar = progress('predict', records.length, { unit: 'movies', silent: opts.progress === false });
  let report;
  try {
    report = await runShards({
      target,
      run,
      shards,
      window: opts.window,
      signal: opts.signal,
      onStatus: (text) => bar.status(text),
      onResult(shard, buf) {
        const r = MoviesResult.parse(unpackResult(buf).header);
        if (r.lines.length !== shard.movies.length || r.lines.some((l, j) => l.id !== shard.movies[j]))
          throw new Error(`the shard's result does not list its ${shard.movies.length} movies in order`);
        results.set(shard.index, r);
        bar.tick(shard.movies.length);
      },
    });
  } finally {
    bar.stop();
  }
  if (report.failed.length) throw new UnprocessedMoviesError(report.failed);
  const lines = shards.flatMap((s) => results.get(s.index)!.lines) as Array<{ id: string; error?: string }>;
  // A poster outside the folder was sent as none: say why instead of what the model made of it.
  const out = lines.map((l) => (refused.has(l.id) ? { id: l.id, error: refused.get(l.id)! } : l));
  return {
    lines: out,
    failed: out.filter((l) => typeof l.error === 'string').map((l) => ({ id: l.id, error: l.error! })),
  };
}
