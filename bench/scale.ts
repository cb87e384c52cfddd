/**
 * MM-IMDB at its real size: writes a synthetic MM-IMDB as a folder (`data synth`) and as an HDF5
 * file in the paper authors' layout (bench/scale-hdf5.ts), then times every stage of the pipeline
 * through the CLI, each in its own process, with its peak RSS (GNU time's maximum resident set):
 * check, feature extraction (poster, plot; the HDF5 file's VGG rows and images), training of
 * poster-frozen, text-mlp2-meanglove, text-gru and fusion-gmu (folder) and paper-gmu (HDF5),
 * evaluation and the report; at 1,645 / 6,500 / 25,959 movies by default, and prints the cost
 * curve (seconds per stage against movies, with the growth exponent between sizes).
 *
 * Not part of CI and not of a plain `npm run bench`: `npm run bench scale`, or
 * `MMGENRE_SCALE_SIZES=1645,6500 npx tsx bench/scale.ts`. MMGENRE_SCALE_DIR keeps the data, cache
 * and runs between runs (default: a temporary folder, removed at the end). Results merge into
 * bench/results/scale.json (MMGENRE_SCALE_OUT: another file): other sizes' rows are kept.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..');
const GIB = 1024 ** 3;
/** Peak RSS allowed for any stage. */
const RSS_LIMIT = 8 * GIB;

interface Stage {
  name: string;
  /** CLI arguments, or a script run with tsx. */
  cli?: string[];
  script?: string[];
}

export interface StageResult {
  movies: number;
  stage: string;
  seconds: number;
  /** User + system CPU seconds of the stage's process (worker threads included): less load-bound than wall time. */
  cpuSeconds?: number;
  peakRssMiB: number;
  /** Mean 1-minute load average of the machine while the stage ran (2 cores: above 2 means waiting for a core). */
  loadAvg?: number;
  /** When the stage finished. */
  date?: string;
  ok: boolean;
  error?: string;
}

function stagesFor(n: number, dir: string): Stage[] {
  const folder = join(dir, `mmimdb-${n}`);
  const file = join(dir, `mmimdb-${n}.hdf5`);
  const runs = join(dir, `runs-${n}`);
  const train = (config: string, data: string): Stage => ({
    name: `train ${config}`,
    cli: ['train', '--config', config, '--data', data, '--out', join(runs, config)],
  });
  return [
    { name: 'synth folder', cli: ['data', 'synth', '--out', folder, '--n', String(n)] },
    { name: 'write hdf5', script: [join(here, 'scale-hdf5.ts'), folder, file] },
    { name: 'check folder', cli: ['data', 'check', folder] },
    { name: 'check hdf5', cli: ['data', 'check', file] },
    {
      name: 'features poster (mobilenet_v2_onnx)',
      cli: ['features', 'extract', '--data', folder, '--encoder', 'mobilenet_v2_onnx'],
    },
    {
      name: 'features plot (glove-mean)',
      cli: ['features', 'extract', '--data', folder, '--encoder', 'glove-mean'],
    },
    {
      name: 'features hdf5 vgg_features',
      cli: ['features', 'extract', '--data', file, '--encoder', 'hdf5-vgg'],
    },
    {
      name: 'features hdf5 images (mobilenet_v2_onnx)',
      cli: ['features', 'extract', '--data', file, '--encoder', 'mobilenet_v2_onnx'],
    },
    train('poster-frozen', folder),
    train('text-mlp2-meanglove', folder),
    train('text-gru', folder),
    train('fusion-gmu', folder),
    train('paper-gmu', file),
    {
      name: 'eval',
      cli: [
        'eval',
        '--predictions',
        join(runs, 'fusion-gmu', 'predictions-test.jsonl'),
        '--data',
        folder,
        '--bootstrap',
        '1000',
      ],
    },
    {
      name: 'report',
      cli: ['report', join(runs, 'fusion-gmu'), '--out', join(runs, 'report.html'), '--data', folder],
    },
  ];
}

async function runStage(stage: Stage, n: number, dir: string): Promise<StageResult> {
  const env = {
    ...process.env,
    MMGENRE_FROM_SOURCE: '1',
    MMGENRE_QUIET: '1',
    MMGENRE_CACHE_DIR: join(dir, 'cache'),
    MMGENRE_RUNS_DIR: join(dir, `runs-${n}`),
  };
  const command = stage.cli
    ? [process.execPath, join(ROOT, 'bin', 'mmgenre.js'), ...stage.cli]
    : [process.execPath, '--import', 'tsx', ...stage.script!];
  // The machine's load while the stage runs, sampled every 5 s: wall times only compare at like load.
  const loads = [loadavg()[0]];
  const sampler = setInterval(() => loads.push(loadavg()[0]), 5000);
  // GNU time reports the child's wall seconds, user and system CPU seconds and peak RSS in KiB
  // (worker threads included) on the last line.
  const r = await new Promise<{ status: number | null; stderr: string }>((done) => {
    const child = spawn('/usr/bin/time', ['-f', 'MMGENRE_TIME %e %U %S %M', ...command], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-(64 << 10));
    });
    child.on('close', (status) => done({ status, stderr }));
  }).finally(() => clearInterval(sampler));
  const m = /MMGENRE_TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
  const ok = r.status === 0 && m !== null;
  return {
    movies: n,
    stage: stage.name,
    seconds: m ? Number(m[1]) : NaN,
    ...(m ? { cpuSeconds: Number(m[2]) + Number(m[3]) } : {}),
    peakRssMiB: m ? Number(m[4]) / 1024 : NaN,
    loadAvg: Number((loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(1)),
    date: new Date().toISOString(),
    ok,
    ...(ok ? {} : { error: r.stderr.split('\n').slice(-6).join(' | ').slice(0, 400) }),
  };
}

/** What bench/results/scale.json holds: every size's latest rows, and the rows they replaced. */
interface ScaleFile {
  date: string;
  results: StageResult[];
  /** Rows measured again since, kept (a figure taken under other load stays comparable to its notes). */
  superseded?: StageResult[];
}

function readScaleFile(path: string): ScaleFile {
  if (!existsSync(path)) return { date: '', results: [] };
  return JSON.parse(readFileSync(path, 'utf8')) as ScaleFile;
}

/** Growth exponent b of cost ∝ movies^b between two sizes (1: linear). */
function exponent(a: number, b: number, movies: [number, number]): number {
  return Math.log(b / a) / Math.log(movies[1] / movies[0]);
}

/**
 * The cost curve: wall seconds, CPU seconds and peak MiB per stage and size, and the growth
 * exponent between the two largest sizes measured (of CPU seconds where both rows have them:
 * wall time on a shared machine also measures its load).
 */
export function formatCurve(results: StageResult[]): string {
  const sizes = [...new Set(results.map((r) => r.movies))].sort((a, b) => a - b);
  const stages = [...new Set(results.map((r) => r.stage))];
  const head = [
    'stage',
    ...sizes.flatMap((s) => [`${s} s`, `${s} cpu s`, `${s} MiB`]),
    'growth (wall)',
    'growth (cpu)',
  ];
  const rows = stages.map((st) => {
    const per = sizes.map((s) => results.find((r) => r.stage === st && r.movies === s));
    const done = per.filter((r): r is StageResult => !!r && r.ok);
    const [a, b] = done.slice(-2);
    const pair: [number, number] | null = b ? [a.movies, b.movies] : null;
    const wall = pair ? `n^${exponent(a.seconds, b.seconds, pair).toFixed(2)}` : '';
    const cpu =
      pair && a.cpuSeconds && b.cpuSeconds
        ? `n^${exponent(a.cpuSeconds, b.cpuSeconds, pair).toFixed(2)}`
        : '';
    return [
      st,
      ...per.flatMap((r) =>
        r
          ? r.ok
            ? [r.seconds.toFixed(1), r.cpuSeconds?.toFixed(1) ?? '', r.peakRssMiB.toFixed(0)]
            : ['failed', '', '']
          : ['', '', ''],
      ),
      wall,
      cpu,
    ];
  });
  const sum = (s: number, pick: (r: StageResult) => number | undefined): string => {
    const rs = results.filter((r) => r.movies === s && r.ok);
    return rs.length && rs.every((r) => pick(r) !== undefined)
      ? rs.reduce((t, r) => t + pick(r)!, 0).toFixed(0)
      : '';
  };
  rows.push([
    'total',
    ...sizes.flatMap((s) => [sum(s, (r) => r.seconds), sum(s, (r) => r.cpuSeconds), '']),
    '',
    '',
  ]);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (r: string[]): string =>
    r.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export async function benchScale(): Promise<BenchRow[]> {
  const sizes = (process.env.MMGENRE_SCALE_SIZES ?? '1645,6500,25959').split(',').map(Number);
  const keep = process.env.MMGENRE_SCALE_DIR;
  const dir = keep ? resolve(keep) : mkdtempSync(join(tmpdir(), 'mmgenre-bench-scale-'));
  mkdirSync(dir, { recursive: true });
  // Rows of sizes not run now stay; a stage measured again replaces its row, which is kept aside.
  const out = process.env.MMGENRE_SCALE_OUT ?? join(here, 'results', 'scale.json');
  const earlier = readScaleFile(out);
  const results: StageResult[] = earlier.results;
  const superseded: StageResult[] = earlier.superseded ?? [];
  try {
    for (const n of sizes) {
      for (const stage of stagesFor(n, dir)) {
        if (stage.name === 'synth folder' && existsSync(join(dir, `mmimdb-${n}`, 'split.json'))) continue;
        process.stderr.write(`scale ${n}: ${stage.name} ...\n`);
        const r = await runStage(stage, n, dir);
        const same = results.findIndex((o) => o.movies === n && o.stage === stage.name);
        if (same >= 0) superseded.push(...results.splice(same, 1));
        results.push(r);
        process.stderr.write(
          r.ok
            ? `scale ${n}: ${stage.name} ${r.seconds.toFixed(1)} s, peak ${r.peakRssMiB.toFixed(0)} MiB\n`
            : `scale ${n}: ${stage.name} FAILED: ${r.error}\n`,
        );
        writeJsonAtomic(out, {
          date: new Date().toISOString(),
          results,
          ...(superseded.length ? { superseded } : {}),
        } satisfies ScaleFile);
      }
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`\n${formatCurve(results)}\n`);
  const over = results.filter((r) => r.peakRssMiB * 1024 ** 2 > RSS_LIMIT);
  if (over.length)
    process.stdout.write(`over 8 GiB: ${over.map((r) => `${r.stage} @${r.movies}`).join(', ')}\n`);
  return results.flatMap((r) =>
    r.ok && sizes.includes(r.movies)
      ? [
          { name: `${r.stage} @${r.movies}`, value: r.seconds, unit: 's' },
          { name: `${r.stage} @${r.movies} peak RSS`, value: r.peakRssMiB, unit: 'MiB' },
        ]
      : [],
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await benchScale();
}
