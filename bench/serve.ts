/**
 * Load on `mmgenre serve`: the server runs in a child process on 127.0.0.1, autocannon drives it
 * from this process with 200 concurrent connections for 30 s on POST /api/predict, first plot text
 * as JSON, then poster (5 KB JPEG) + plot as multipart/form-data, the web page's upload. Reports
 * p50/p99/max latency, requests/s, answers (200), refusals (503 + Retry-After: the bounded
 * queue's back-pressure), timeouts and errors, and the server's RSS (from /api/health) before,
 * in the middle of and after the load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { trainTinyRun } from '../test/predict/fixture.js';
import type { BenchRow } from './types.js';

interface CannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<CannonResult>;

const MB = 1024 * 1024;

async function startChild(runDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [resolve('bin', 'mmgenre.js'), 'serve', '--model', runDir, '--port', '0'],
    {
      env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((ok, fail) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) ok(m[1]);
    });
    child.once('exit', (code) => fail(new Error(`the server exited (${code}) before listening`)));
  });
  return { child, url };
}

async function rss(url: string): Promise<number> {
  const h = (await (await fetch(`${url}/api/health`)).json()) as { memory: { rss: number } };
  return h.memory.rss;
}

async function load(
  autocannon: Autocannon,
  url: string,
  body: string | Buffer,
  connections: number,
  duration: number,
  contentType = 'application/json',
): Promise<{ result: CannonResult; rssMiddle: number }> {
  let rssMiddle = 0;
  const timer = setTimeout(
    () => {
      void rss(url).then((v) => (rssMiddle = v));
    },
    (duration * 1000) / 2,
  );
  const result = await autocannon({
    url: `${url}/api/predict`,
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    connections,
    duration,
    // A request not answered (or refused) within 10 s counts as a timeout.
    timeout: 10,
  });
  clearTimeout(timer);
  return { result, rssMiddle };
}

function rowsFor(label: string, r: CannonResult, connections: number, duration: number): BenchRow[] {
  const note = `${connections} connections, ${duration} s, loopback, server in a child process`;
  const refused = r.statusCodeStats['503']?.count ?? 0;
  const otherNon2xx = r.non2xx - refused;
  return [
    {
      name: `${label}: requests/s`,
      value: r.requests.average,
      unit: 'req/s',
      note: `${note}; answered and refused`,
    },
    { name: `${label}: answered/s`, value: r['2xx'] / duration, unit: 'req/s', note: 'answered 200' },
    { name: `${label}: latency p50`, value: r.latency.p50, unit: 'ms' },
    { name: `${label}: latency p99`, value: r.latency.p99, unit: 'ms' },
    {
      name: `${label}: latency max`,
      value: r.latency.max,
      unit: 'ms',
      note: 'every answer or refusal within this',
    },
    {
      name: `${label}: refused 503`,
      value: refused,
      unit: 'requests',
      note: `503 + Retry-After from the bounded queue, of ${r['2xx'] + r.non2xx} answers`,
    },
    {
      name: `${label}: errors`,
      value: r.errors + r.timeouts + otherNon2xx,
      unit: 'requests',
      note: `${r['2xx']} answered 200; errors ${r.errors}, timeouts ${r.timeouts}, non-2xx other than 503 ${otherNon2xx} (must be 0)`,
    },
  ];
}

/** A multipart/form-data body as the web page sends it: the plot field and the poster file. */
function multipartBody(plot: string, poster: Buffer): { body: Buffer; type: string } {
  const boundary = '----mmgenre-bench-boundary';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="plot"\r\n\r\n${plot}\r\n`),
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="poster"; filename="poster.jpeg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    poster,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

export async function benchServe(): Promise<BenchRow[]> {
  // autocannon ships no types: imported through a variable so the compiler does not look for them.
  const name = 'autocannon';
  const autocannon = ((await import(name)) as { default: Autocannon }).default;
  // A real run (MobileNetV2 poster + mean GloVe plot → MLP) trained on a small synthetic dataset.
  const tiny = await trainTinyRun();
  const plots = readdirSync(join(tiny.dataDir, 'dataset'))
    .filter((f) => f.endsWith('.json'))
    .map(
      (f) =>
        (JSON.parse(readFileSync(join(tiny.dataDir, 'dataset', f), 'utf8')) as { plot: string[] }).plot[0],
    );
  const plotBody = JSON.stringify({ plot: plots.slice(0, 3).join(' ') });
  const posterFile = readdirSync(join(tiny.dataDir, 'dataset')).find((f) => f.endsWith('.jpeg'))!;
  const poster = readFileSync(join(tiny.dataDir, 'dataset', posterFile));
  const posterBody = multipartBody(plots[0], poster);

  const { child, url } = await startChild(tiny.runDir);
  const rows: BenchRow[] = [];
  try {
    // Warm-up so the start RSS counts the loaded model and encoders.
    await fetch(`${url}/api/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: plotBody,
    });
    const rssStart = await rss(url);
    const plot = await load(autocannon, url, plotBody, 200, 30);
    const rssEnd = await rss(url);
    rows.push(...rowsFor('predict plot', plot.result, 200, 30));
    rows.push(
      { name: 'server RSS at start', value: rssStart / MB, unit: 'MB' },
      { name: 'server RSS mid-load', value: plot.rssMiddle / MB, unit: 'MB' },
      { name: 'server RSS at end', value: rssEnd / MB, unit: 'MB', note: 'after 30 s of plot predictions' },
      { name: 'server RSS growth start→end', value: (rssEnd - rssStart) / MB, unit: 'MB' },
    );
    const withPoster = await load(autocannon, url, posterBody.body, 200, 30, posterBody.type);
    const rssPoster = await rss(url);
    rows.push(
      ...rowsFor(
        `predict poster (${(poster.length / 1024).toFixed(0)} KB) + plot, multipart`,
        withPoster.result,
        200,
        30,
      ),
    );
    rows.push({ name: 'server RSS after poster load', value: rssPoster / MB, unit: 'MB' });
  } finally {
    child.kill('SIGTERM');
  }
  mkdirSync(resolve('bench', 'results'), { recursive: true });
  writeJsonAtomic(resolve('bench', 'results', 'serve.json'), { date: new Date().toISOString(), rows });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchServe();
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(48)} ${r.value.toFixed(1).padStart(10)} ${r.unit.padEnd(8)} ${r.note ?? ''}`,
    );
  }
  process.exit(0);
}
