/**
 * Text encoders: GloVe binary-cache build (once) and load time for the whole vocabulary
 * (target < 1 s), peak memory of each, and the tokeniser's rate on the sample's plots.
 * Build and load run in fresh child processes so their peak RSS is theirs alone.
 * `npx tsx bench/text.ts` runs it alone; `npm run bench text` through bench/index.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/load.js';
import { buildGloveCache, loadGlove } from '../src/text/glove.js';
import { tokenize } from '../src/text/tokenize.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const MMIMDB = resolve(here, '..', '..', 'shared', 'datasets', 'mmimdb-sample');
const CHILD = 'MMGENRE_BENCH_TEXT_CHILD';
const MB = 1024 * 1024;

interface ChildResult {
  ms: number;
  words: number;
  rssMB: number;
  heapUsedMB: number;
  /** Peak RSS of the whole child process. */
  maxRssMB: number;
}

/** Inside the child: build or load, then report figures as one JSON line. */
async function child(mode: string, cacheDir: string): Promise<void> {
  const t0 = performance.now();
  let words: number;
  if (mode === 'build') words = buildGloveCache({ cacheDir }).size;
  else words = (await loadGlove({ cacheDir })).words.length;
  const ms = performance.now() - t0;
  const mem = process.memoryUsage();
  const r: ChildResult = {
    ms,
    words,
    rssMB: mem.rss / MB,
    heapUsedMB: mem.heapUsed / MB,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(r) + '\n');
}

function runChild(mode: 'build' | 'load', cacheDir: string): ChildResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, [CHILD]: `${mode}:${cacheDir}`, MMGENRE_QUIET: '1' },
    encoding: 'utf8',
    maxBuffer: 16 * MB,
  });
  if (r.status !== 0) throw new Error(`bench child (${mode}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchText(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const cacheDir = mkdtempSync(join(tmpdir(), 'mmgenre-bench-glove-'));
  try {
    const build = runChild('build', cacheDir);
    rows.push(
      {
        name: 'GloVe cache build (341k words, once)',
        value: build.ms / 1000,
        unit: 's',
        note: 'parse the 307 MB package JSON once, write words + float32 matrix + hash index',
      },
      {
        name: 'GloVe cache build peak RSS',
        value: Math.round(build.maxRssMB),
        unit: 'MB',
        note: 'whole child process',
      },
    );
    const loads = [0, 1, 2].map(() => runChild('load', cacheDir));
    const load = loads.reduce((a, b) => (b.ms < a.ms ? b : a));
    rows.push(
      {
        name: 'GloVe cache load, full vocabulary',
        value: load.ms,
        unit: 'ms',
        note: `best of 3 fresh processes (median ${median(loads.map((l) => l.ms)).toFixed(0)} ms); target < 1000 ms`,
      },
      { name: 'GloVe words loaded', value: load.words, unit: 'words' },
      {
        name: 'GloVe cache load peak RSS',
        value: Math.round(load.maxRssMB),
        unit: 'MB',
        note: `heap used ${load.heapUsedMB.toFixed(0)} MB; matrix alone 130 MB`,
      },
    );
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }

  if (existsSync(MMIMDB)) {
    const ds = await loadDataset(MMIMDB);
    const plots = ds.records.map((r) => r.plot).filter((p): p is string => !!p);
    tokenize('warm up the tokeniser');
    const t0 = performance.now();
    let tokens = 0;
    for (const p of plots) tokens += tokenize(p).length;
    const s = (performance.now() - t0) / 1000;
    rows.push(
      {
        name: 'tokenise rate',
        value: Math.round(tokens / s),
        unit: 'tokens/s',
        note: `${plots.length} sample plots, ${tokens} tokens, one core`,
      },
      {
        name: 'tokenise rate (plots)',
        value: Math.round(plots.length / s),
        unit: 'plots/s',
        note: `25,959 MM-IMDB plots ≈ ${((25_959 / plots.length) * s).toFixed(0)} s on one core`,
      },
    );
  }
  writeJsonAtomic(join(here, 'results', 'text.json'), { date: new Date().toISOString(), rows });
  return rows;
}

const childMode = process.env[CHILD];
if (childMode) {
  const at = childMode.indexOf(':');
  await child(childMode.slice(0, at), childMode.slice(at + 1));
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.table(await benchText());
}
