/**
 * `npm run bench [area...]`: runs each area's benchmark (bench/<area>.ts exporting bench<Area>()),
 * prints one table and writes bench/results/all.json (each area also writes bench/results/<area>.json)
 * so a change can be compared with the last run.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const AREAS = [
  'data',
  'hdf5',
  'eval',
  'text',
  'vision',
  'features',
  'freshness',
  'cold',
  'engine',
  'train',
  'fusion',
  'serve',
  'queue',
];
/** Areas run only when named (`npm run bench scale`): the full-size run takes an hour or more. */
const ON_REQUEST = ['scale'];
const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const areas = wanted.length ? [...AREAS, ...ON_REQUEST].filter((a) => wanted.includes(a)) : AREAS;
  const resultsPath = join(here, 'results', 'all.json');
  const previous: Record<string, BenchRow[]> = existsSync(resultsPath)
    ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { areas: Record<string, BenchRow[]> }).areas
    : {};
  const results: Record<string, BenchRow[]> = { ...previous };
  for (const area of areas) {
    const file = join(here, `${area}.ts`);
    if (!existsSync(file)) continue;
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const fnName = `bench${area[0].toUpperCase()}${area.slice(1)}`;
    const fn = mod[fnName];
    if (typeof fn !== 'function') {
      process.stderr.write(`bench/${area}.ts exports no ${fnName}()\n`);
      continue;
    }
    process.stderr.write(`running ${area} ...\n`);
    const t0 = performance.now();
    try {
      results[area] = withPytorchNote(await (fn as () => Promise<BenchRow[]>)());
    } catch (err) {
      process.stderr.write(`bench ${area} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      continue;
    }
    process.stderr.write(`${area} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    printTable(area, results[area], previous[area]);
  }
  writeJsonAtomic(resultsPath, {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version },
    areas: results,
  });
  process.stdout.write(`\nwritten: ${resultsPath}\n`);
}

/**
 * Rows compared with PyTorch use figures measured once (PyTorch cannot run here): say so in the
 * row, and how to re-measure them.
 */
export const PYTORCH_FIXED =
  'PyTorch figures are fixed numbers measured on one day (PyTorch 1.13, CPU, 2 cores), not re-run by this bench; re-measure on your machine: python3 bench/pytorch/measure.py';

function withPytorchNote(rows: BenchRow[]): BenchRow[] {
  return rows.map((r) =>
    r.note && /pytorch/i.test(r.note) && !r.note.includes(PYTORCH_FIXED)
      ? { ...r, note: `${r.note}; ${PYTORCH_FIXED}` }
      : r,
  );
}

function printTable(area: string, rows: BenchRow[], before: BenchRow[] | undefined): void {
  const prev = new Map((before ?? []).map((r) => [r.name, r.value]));
  const w = Math.max(...rows.map((r) => r.name.length), 10);
  process.stdout.write(`\n## ${area}\n`);
  process.stdout.write(
    `${'measure'.padEnd(w)}  ${'value'.padStart(12)}  ${'unit'.padEnd(12)}  ${'previous'.padStart(10)}  note\n`,
  );
  for (const r of rows) {
    const p = prev.get(r.name);
    const v = Number.isInteger(r.value) ? String(r.value) : r.value.toPrecision(4);
    const pv = p === undefined ? '' : Number.isInteger(p) ? String(p) : p.toPrecision(4);
    process.stdout.write(
      `${r.name.padEnd(w)}  ${v.padStart(12)}  ${r.unit.padEnd(12)}  ${pv.padStart(10)}  ${r.note ?? ''}\n`,
    );
  }
}

await main();
