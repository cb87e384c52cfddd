/**
 * Loader throughput: records per second for the MM-IMDB directory sample and the TMDB sample
 * (metadata + poster sniff, the default load; and with every poster decoded, as `data check` does).
 * `npx tsx bench/data.ts` runs it alone; `npm run bench data` through bench/index.ts.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset, type LoadOptions } from '../src/data/load.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const SHARED = resolve(here, '..', '..', 'shared', 'datasets');
const MMIMDB = join(SHARED, 'mmimdb-sample');
const TMDB = join(SHARED, 'tmdb-sample');

/** Best of `runs` timed loads after one warm-up (module loading and a cold file cache excluded). */
async function timeLoad(
  path: string,
  opts: LoadOptions,
  runs: number,
): Promise<{ ms: number; records: number; scanned: number }> {
  const warm = await loadDataset(path, opts);
  let best = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await loadDataset(path, opts);
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, records: warm.records.length, scanned: warm.scanned ?? warm.records.length };
}

export async function benchData(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const note = (s: string) => `${s}; best of runs after a warm-up`;
  if (existsSync(MMIMDB)) {
    const m = await timeLoad(MMIMDB, {}, 5);
    rows.push({
      name: 'mmimdb-dir load time (1,645 movies)',
      value: m.ms,
      unit: 'ms',
      note: note('target < 2000 ms'),
    });
    rows.push({
      name: 'mmimdb-dir load',
      value: (1000 * m.scanned) / m.ms,
      unit: 'records/s',
      note: note('metadata + poster sniff'),
    });
    const v = await timeLoad(MMIMDB, { verifyPosters: true }, 1);
    rows.push({
      name: 'mmimdb-dir load, posters decoded',
      value: (1000 * v.scanned) / v.ms,
      unit: 'records/s',
      note: note('data check path'),
    });
  } else {
    process.stderr.write(`bench data: ${MMIMDB} not found, skipped\n`);
  }
  if (existsSync(TMDB)) {
    const t = await timeLoad(TMDB, {}, 3);
    rows.push({
      name: 'tmdb load (2,996 rows)',
      value: (1000 * t.scanned) / t.ms,
      unit: 'records/s',
      note: note('CSV rows parsed + validated'),
    });
    const v = await timeLoad(TMDB, { verifyPosters: true }, 1);
    rows.push({
      name: 'tmdb load, posters decoded',
      value: (1000 * v.scanned) / v.ms,
      unit: 'records/s',
      note: note('535 posters decoded'),
    });
  } else {
    process.stderr.write(`bench data: ${TMDB} not found, skipped\n`);
  }
  writeJsonAtomic(join(here, 'results', 'data.json'), { date: new Date().toISOString(), rows });
  return rows;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const rows = await benchData();
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(w)}  ${r.value.toFixed(1).padStart(10)} ${r.unit.padEnd(10)} ${r.note ?? ''}\n`,
    );
  }
}
