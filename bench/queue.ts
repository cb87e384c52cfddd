/**
 * Queue benchmark: the sample's posters (MobileNetV2 on onnxruntime) extracted in this process,
 * then over a local redis-server by 1, 2 and 4 `mmgenre worker` processes, 256-movie shards.
 * Gives throughput, the cost of a shard's trip through the queue, and a paper estimate for a
 * 1M-movie catalogue on N machines from the measured per-worker rate.
 * Run: `npm run bench queue`. MMGENRE_BENCH_POSTERS=N limits the posters (default: all 1,645).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/load.js';
import type { Dataset } from '../src/data/types.js';
import { env } from '../src/env.js';
import { extractFeaturesWithReport } from '../src/features/extract.js';
import { queueChunkRunner } from '../src/queue/features.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { redisMissing, startRedis } from '../test/helpers/redis.js';
import type { BenchRow } from './types.js';

const SAMPLE = fileURLToPath(new URL('../../shared/datasets/mmimdb-sample', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENCODER = 'mobilenet_v2_onnx';
const SHARD_ROWS = 256;

interface Worker {
  child: ChildProcess;
  log: () => string;
}

function startWorker(url: string): Promise<Worker> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), 'worker', '--queue', url], {
    cwd: ROOT,
    env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_CACHE_DIR: env.cacheDir },
  });
  let text = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      text += d.toString();
      if (text.includes('worker ready')) resolve({ child, log: () => text });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${text}`)));
  });
}

/** Seconds the workers spent computing shards (their log: "shard … done (…) in 3.2 s"). */
function shardSeconds(workers: Worker[]): number[] {
  return workers.flatMap((w) =>
    [...w.log().matchAll(/ done \(.*\) in ([\d.]+) s/g)].map((m) => Number(m[1])),
  );
}

/** CPU seconds (user + system, every thread) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100)
  } catch {
    return NaN;
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export async function benchQueue(): Promise<BenchRow[]> {
  if (!existsSync(SAMPLE)) throw new Error(`the sample dataset is not at ${SAMPLE}`);
  const missing = redisMissing();
  if (missing) throw new Error(missing);
  process.env.MMGENRE_QUIET = '1';
  const full = await loadDataset(SAMPLE);
  const n = Number(process.env.MMGENRE_BENCH_POSTERS ?? full.records.length);
  const dataset: Dataset = { ...full, records: full.records.slice(0, n) };
  const shards = Math.ceil(n / SHARD_ROWS);
  const machine = `this VM: 2 cores shared with other work (load average ${loadavg()[0].toFixed(1)} at start)`;
  const caches: string[] = [];
  const newCache = (): string => {
    caches.push(mkdtempSync(join(tmpdir(), 'mmgenre-bench-queue-')));
    return caches.at(-1)!;
  };
  const rows: BenchRow[] = [];
  const redis = await startRedis();
  try {
    // The in-process path: the same encoder in this thread (what one worker process does per shard).
    const inProcess = await timed(() =>
      extractFeaturesWithReport(dataset, ENCODER, { cacheDir: newCache(), workers: 0, progress: false }),
    );
    rows.push({
      name: `in-process ${ENCODER} posters/s (1 thread)`,
      value: n / inProcess,
      unit: 'posters/s',
      note: `${n} sample posters end to end, model load included; ${machine}`,
    });
    let perCore = 0;
    for (const count of [1, 2, 4]) {
      const workers = await Promise.all(Array.from({ length: count }, () => startWorker(redis.url)));
      const cpu0 = workers.map((w) => cpuSeconds(w.child.pid!));
      try {
        const wall = await timed(() =>
          extractFeaturesWithReport(dataset, ENCODER, {
            cacheDir: newCache(),
            chunkRows: 64,
            progress: false,
            runner: queueChunkRunner({ queue: redis.url, shardRows: SHARD_ROWS }),
          }),
        );
        const rate = n / wall;
        rows.push({
          name: `queue ${ENCODER} posters/s, ${count} worker process${count > 1 ? 'es' : ''}`,
          value: rate,
          unit: 'posters/s',
          note: `${n} posters in ${shards} shards of ${SHARD_ROWS}, end to end (workers started beforehand, model loaded by their first shard); ${machine}`,
        });
        if (count === 1) {
          perCore = n / (cpuSeconds(workers[0].child.pid!) - cpu0[0]);
          rows.push({
            name: `queue ${ENCODER} posters per worker CPU-second`,
            value: perCore,
            unit: 'posters/cpu-s',
            note: 'posters / the worker process’s CPU time (model load included): what one unshared core does, whatever else the machine runs',
          });
          const computing = shardSeconds(workers).reduce((a, b) => a + b, 0);
          rows.push({
            name: 'queue overhead per shard (1 worker, wall − worker compute)',
            value: ((wall - computing) / shards) * 1000,
            unit: 'ms',
            note: `enqueue, hand-out, result through Redis, chunk writes; ${SHARD_ROWS}-movie shards`,
          });
          rows.push({
            name: 'queue cost per shard against the in-process path (1 worker)',
            value: ((wall - inProcess) / shards) * 1000,
            unit: 'ms',
            note: 'wall time of the queued run minus the in-process run, per shard',
          });
        }
      } finally {
        for (const w of workers) w.child.kill('SIGTERM');
      }
    }
    // Paper estimate: workers share nothing but Redis and the filesystem, so machines add up.
    for (const machines of [1, 10, 100]) {
      const cores = 16;
      const hours = 1e6 / (machines * cores * perCore) / 3600;
      rows.push({
        name: `estimate: 1M posters on ${machines} machine${machines > 1 ? 's' : ''} × ${cores} workers`,
        value: hours,
        unit: 'hours',
        note: `1e6 / (${machines} × ${cores} workers × ${perCore.toFixed(1)} posters per CPU-second), one worker per unshared core; Redis carries ~5 KB of float32 features and ~1 KB of job per movie`,
      });
    }
  } finally {
    redis.stop();
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  }
  writeJsonAtomic(fileURLToPath(new URL('./results/queue.json', import.meta.url)), {
    date: new Date().toISOString(),
    rows,
  });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchQueue())
    console.log(`${r.name}: ${r.value.toPrecision(4)} ${r.unit}  (${r.note})`);
  process.exit(0);
}
