/**
 * What a new user waits for: from a cold cache (no exported ONNX model, no GloVe binary cache, no
 * features), `mmgenre features extract` for the poster encoder then the plot encoder on 809 real
 * movies, as two CLI processes, timed end to end (process start-up, ONNX export and GloVe cache
 * build included). Run: `npm run bench cold`. The target is >= 40 movies/s over both commands.
 * The CLI runs compiled (dist/) when `npm run build` has been run, from source through tsx otherwise;
 * the row says which.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLE = join(ROOT, '..', 'shared', 'datasets', 'mmimdb-sample');
const MOVIES = 809;

/** The first 809 movies of the sample (by id), each keeping its split, copied to a fresh folder. */
function subset(dir: string): void {
  const split = JSON.parse(readFileSync(join(SAMPLE, 'split.json'), 'utf8')) as Record<string, string[]>;
  const ids = new Set(Object.values(split).flat().sort().slice(0, MOVIES));
  mkdirSync(join(dir, 'dataset'), { recursive: true });
  const out = Object.fromEntries(
    Object.entries(split).map(([s, list]) => [s, list.filter((id) => ids.has(id))]),
  );
  writeFileSync(join(dir, 'split.json'), JSON.stringify(out));
  for (const id of ids)
    for (const ext of ['json', 'jpeg']) {
      const from = join(SAMPLE, 'dataset', `${id}.${ext}`);
      if (existsSync(from)) copyFileSync(from, join(dir, 'dataset', `${id}.${ext}`));
    }
}

function extract(data: string, encoder: string, cache: string): number {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bin', 'mmgenre.js'), 'features', 'extract', '--data', data, '--encoder', encoder],
    { env: { ...process.env, MMGENRE_CACHE_DIR: cache, MMGENRE_QUIET: '1' }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`features extract --encoder ${encoder} failed:\n${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

export async function benchCold(): Promise<BenchRow[]> {
  if (!existsSync(SAMPLE)) throw new Error(`the sample dataset is not at ${SAMPLE}`);
  const work = mkdtempSync(join(tmpdir(), 'mmgenre-bench-cold-'));
  const compiled =
    existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')) && !process.env.MMGENRE_FROM_SOURCE;
  const how = compiled
    ? 'compiled CLI (dist/)'
    : 'CLI from source (tsx; `npm run build` first for the compiled one)';
  try {
    const data = join(work, 'data');
    subset(data);
    const cache = join(work, 'cache');
    const load = loadavg()[0].toFixed(1);
    const poster = extract(data, 'mobilenet_v2_onnx', cache);
    const plot = extract(data, 'glove-mean', cache);
    const total = poster + plot;
    const rows: BenchRow[] = [
      {
        name: `cold features extract, ${MOVIES} real movies, poster + plot`,
        value: MOVIES / total,
        unit: 'movies/s',
        note: `target ≥ 40; two processes, cold cache: mobilenet_v2_onnx ${poster.toFixed(1)} s (ONNX export included) + glove-mean ${plot.toFixed(1)} s (GloVe cache build included) = ${total.toFixed(1)} s; ${how}; load avg ${load} at start`,
      },
      { name: 'cold features extract: mobilenet_v2_onnx process', value: poster, unit: 's', note: how },
      { name: 'cold features extract: glove-mean process', value: plot, unit: 's', note: how },
    ];
    writeJsonAtomic(join(ROOT, 'bench', 'results', 'cold.json'), { date: new Date().toISOString(), rows });
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchCold())
    process.stdout.write(`${r.name}: ${r.value.toFixed(2)} ${r.unit} (${r.note})\n`);
}
