/**
 * Load on `mmgenre serve` as a user runs it: the shipped default model (GMU over MobileNetV2's
 * pooled and block_15_add layers and the mean GloVe plot), in a child process on 127.0.0.1, once
 * with one worker process and once with the default (one per core). autocannon drives it from
 * this process with 200 connections for 30 s on POST /api/predict: real plots as JSON, then real
 * posters (MM-IMDB sample posters resized to ~5 KB JPEGs, a different movie on every request so
 * that the server's poster cache cannot help) + their plots as multipart/form-data, the web
 * page's upload. First, a bare node:http server under the same load gives the harness's floor.
 *
 * Reported per case: answers/s (200), refusals (503 + Retry-After: the bounded queue's
 * back-pressure), p50/p99/max of the answered requests, the slowest refusal, the requests over
 * 1 s (connections' first requests apart: see connectionRamp), the slowest request once every
 * connection is open, timeouts (no answer in 10 s) and errors, the mean batch the workers'
 * batchers ran, the server's CPU time per answer, and the RSS of all server processes together.
 * The load generator runs on the same cores: its CPU time is reported too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { isPlaceholderPlot } from '../src/data/placeholder.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

interface CannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  statusCodeStats: Record<string, { count: number }>;
}
type CannonRequest = { method?: string; body?: string | Buffer; headers?: Record<string, string> };
type Autocannon = (opts: Record<string, unknown>) => PromiseLike<CannonResult> & {
  on(event: 'response', f: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};

const MB = 1024 * 1024;
const CONNECTIONS = 200;
const SECONDS = 30;
/** Close to the issue's "5 KB poster": a real poster scaled to 128 px wide. */
const POSTER_WIDTH = 128;
const POSTER_QUALITY = 70;
const SAMPLE = resolve('..', 'shared', 'datasets', 'mmimdb-sample');

interface Movie {
  plot: string;
  poster: Buffer;
}

/** The sample's movies with a poster, each poster re-encoded small; null without the sample. */
async function sampleMovies(): Promise<Movie[] | null> {
  const dir = join(SAMPLE, 'dataset');
  if (!existsSync(dir)) return null;
  const ids = readdirSync(dir)
    .filter((f) => f.endsWith('.jpeg'))
    .map((f) => f.slice(0, -5))
    .sort();
  const limit = pLimit(availableParallelism());
  const movies = await Promise.all(
    ids.map((id) =>
      limit(async () => {
        const json = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as { plot?: string[] };
        const plot = (json.plot ?? []).reduce((a, b) => (b.length > a.length ? b : a), '');
        try {
          const poster = await sharp(join(dir, `${id}.jpeg`))
            .resize({ width: POSTER_WIDTH })
            .jpeg({ quality: POSTER_QUALITY })
            .toBuffer();
          return { plot: plot.replace(/::[^:]*$/, '').trim(), poster };
        } catch {
          return null; // a poster sharp cannot read is not part of the load
        }
      }),
    ),
  );
  // A placeholder plot ("N/A") with no poster is a 422 by design: not the load measured here.
  return movies.filter((m): m is Movie => m !== null && m.plot !== '' && !isPlaceholderPlot(m.plot));
}

/** A multipart/form-data body as the web page sends it: the plot field and the poster file. */
const BOUNDARY = '----mmgenre-bench-boundary';
function multipartBody(plot: string, poster: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="plot"\r\n\r\n${plot}\r\n`),
    Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="poster"; filename="poster.jpeg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    poster,
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

async function startChild(workers: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [resolve('bin', 'mmgenre.js'), 'serve', '--port', '0', '--workers', String(workers)],
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

/** The server's processes: the child and every process under it. */
function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++)
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** CPU seconds (user + system) and RSS bytes of a process tree, from /proc. */
function usage(root: number): { cpu: number; rss: number } {
  let cpu = 0;
  let rss = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu += (Number(f[11]) + Number(f[12])) / 100; // clock ticks (USER_HZ = 100 on Linux)
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      rss += m ? Number(m[1]) * 1024 : 0;
    } catch {
      // exited meanwhile
    }
  }
  return { cpu, rss };
}

interface WorkerHealth {
  pid: number;
  predictions: { batches: number; predictions: number; largestBatch: number; refused: number } | null;
}

/** GET /api/health on a fresh connection: the primary hands each new connection to the next worker. */
function health(url: string): Promise<WorkerHealth> {
  return new Promise((ok, fail) => {
    const req = request(`${url}/api/health`, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => ok(JSON.parse(text) as WorkerHealth));
    });
    req.on('error', fail);
    req.end();
  });
}

/** Every worker's batcher stats, by pid (asked until each has answered, at most 8 tries per worker). */
async function workerStats(url: string, workers: number): Promise<Map<number, WorkerHealth>> {
  const seen = new Map<number, WorkerHealth>();
  for (let i = 0; i < 8 * workers && seen.size < workers; i++) {
    const h = await health(url);
    seen.set(h.pid, h);
  }
  return seen;
}

interface Measured {
  cannon: CannonResult;
  answered: number[];
  refused: number[];
  /** Latency of each connection's first request (sent while the 200 connections were opening). */
  firsts: number[];
  /** Latencies of the requests sent after every connection had had its first response. */
  afterRamp: number[];
  serverCpu: number;
  clientCpu: number;
  rssStart: number;
  rssMiddle: number;
  rssEnd: number;
  batches: number;
  predictions: number;
  largestBatch: number;
}

/**
 * Splits latencies at the end of the connection ramp. autocannon opens its 200 connections at
 * once and each sends at once; under load some connections are accepted only after a second or
 * more (a bare node:http server shows the same: see benchBareServer), so their first request's time
 * is mostly the harness's. Requests sent after every connection has had a first response measure
 * the server alone.
 */
function connectionRamp() {
  const seen = new Set<unknown>();
  const firsts: number[] = [];
  const afterRamp: number[] = [];
  let rampEnd = Infinity;
  return {
    firsts,
    afterRamp,
    record(client: unknown, ms: number) {
      const now = performance.now();
      if (!seen.has(client)) {
        seen.add(client);
        firsts.push(ms);
        if (seen.size === CONNECTIONS) rampEnd = now;
      } else if (now - ms >= rampEnd) afterRamp.push(ms);
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function load(
  autocannon: Autocannon,
  server: { child: ChildProcess; url: string; workers: number },
  bodies: Buffer[],
  contentType: string,
): Promise<Measured> {
  const pid = server.child.pid!;
  const before = await workerStats(server.url, server.workers);
  const start = usage(pid);
  const clientStart = process.cpuUsage();
  let rssMiddle = 0;
  const timer = setTimeout(() => (rssMiddle = usage(pid).rss), (SECONDS * 1000) / 2);
  let next = 0;
  const answered: number[] = [];
  const refused: number[] = [];
  const run = autocannon({
    url: `${server.url}/api/predict`,
    connections: CONNECTIONS,
    duration: SECONDS,
    // A request not answered (nor refused) within 10 s counts as a timeout.
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': contentType },
        // Every request carries the next movie, across all connections.
        setupRequest: (req: CannonRequest) => ({ ...req, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  const ramp = connectionRamp();
  run.on('response', (client, status, _bytes, ms) => {
    if (status === 200) answered.push(ms);
    else if (status === 503) refused.push(ms);
    ramp.record(client, ms);
  });
  const cannon = await run;
  clearTimeout(timer);
  const end = usage(pid);
  const client = process.cpuUsage(clientStart);
  const after = await workerStats(server.url, server.workers);
  let batches = 0;
  let predictions = 0;
  let largestBatch = 0;
  for (const [p, h] of after) {
    const b = before.get(p)?.predictions;
    batches += (h.predictions?.batches ?? 0) - (b?.batches ?? 0);
    predictions += (h.predictions?.predictions ?? 0) - (b?.predictions ?? 0);
    largestBatch = Math.max(largestBatch, h.predictions?.largestBatch ?? 0);
  }
  answered.sort((a, b) => a - b);
  refused.sort((a, b) => a - b);
  return {
    cannon,
    answered,
    refused,
    firsts: ramp.firsts,
    afterRamp: ramp.afterRamp,
    serverCpu: end.cpu - start.cpu,
    clientCpu: (client.user + client.system) / 1e6,
    rssStart: start.rss,
    rssMiddle,
    rssEnd: end.rss,
    batches,
    predictions,
    largestBatch,
  };
}

function rowsFor(label: string, m: Measured): BenchRow[] {
  const r = m.cannon;
  const n503 = r.statusCodeStats['503']?.count ?? 0;
  const other = r.non2xx - n503;
  const ok = r['2xx'];
  const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;
  const where = `${CONNECTIONS} connections × ${SECONDS} s, loopback`;
  return [
    {
      name: `${label}: answered/s`,
      value: round(ok / SECONDS),
      unit: 'req/s',
      note: `${where}; 200 answers`,
    },
    {
      name: `${label}: refused 503`,
      value: n503,
      unit: 'requests',
      note: `503 + Retry-After (bounded queue), beside ${ok} answered`,
    },
    { name: `${label}: answered p50`, value: round(percentile(m.answered, 50)), unit: 'ms' },
    { name: `${label}: answered p99`, value: round(percentile(m.answered, 99)), unit: 'ms' },
    { name: `${label}: answered max`, value: round(m.answered.at(-1) ?? NaN), unit: 'ms' },
    {
      name: `${label}: slowest 503`,
      value: round(m.refused.at(-1) ?? 0),
      unit: 'ms',
      note: `p99 of refusals ${round(percentile(m.refused, 99) || 0)} ms`,
    },
    ...rampRows(label, m.firsts, m.afterRamp),
    {
      name: `${label}: timeouts`,
      value: r.timeouts,
      unit: 'requests',
      note: 'no answer within 10 s (must be 0)',
    },
    {
      name: `${label}: errors`,
      value: r.errors - r.timeouts + other,
      unit: 'requests',
      note: `connection errors ${r.errors - r.timeouts}, statuses other than 200/503 ${other}${
        other
          ? ` (${Object.entries(r.statusCodeStats)
              .filter(([code]) => code !== '200' && code !== '503')
              .map(([code, c]) => `${code}: ${c.count}`)
              .join(', ')})`
          : ''
      } (must be 0)`,
    },
    {
      name: `${label}: mean batch`,
      value: round(m.batches ? m.predictions / m.batches : 0, 2),
      unit: 'movies',
      note: `${m.batches} model calls for ${m.predictions} movies, largest ${m.largestBatch}`,
    },
    {
      name: `${label}: server CPU per answer`,
      value: round(ok ? (m.serverCpu * 1000) / ok : NaN, 2),
      unit: 'ms',
      note: `${round(m.serverCpu)} CPU-s of the server's processes (refusals included); load generator ${round(m.clientCpu)} CPU-s on the same cores`,
    },
    {
      name: `${label}: server RSS mid-load`,
      value: round(m.rssMiddle / MB),
      unit: 'MB',
      note: 'all processes',
    },
    {
      name: `${label}: server RSS end`,
      value: round(m.rssEnd / MB),
      unit: 'MB',
      note: `start ${round(m.rssStart / MB)} MB`,
    },
  ];
}

/** Requests over 1 s, and the slowest once every connection is open. */
function rampRows(label: string, firsts: number[], afterRamp: number[]): BenchRow[] {
  const round = (v: number) => Math.round(v * 10) / 10;
  // A loop, not Math.max(...xs): a run has over 100,000 latencies, too many arguments for a call.
  const max = (xs: number[]) => xs.reduce((a, b) => (b > a ? b : a), 0);
  const overFirst = firsts.filter((ms) => ms > 1000).length;
  const overAfter = afterRamp.filter((ms) => ms > 1000).length;
  return [
    {
      name: `${label}: over 1 s`,
      value: overFirst + overAfter,
      unit: 'requests',
      note: `${overFirst} of them the first request of a connection (slowest ${round(max(firsts))} ms), ${overAfter} later`,
    },
    {
      name: `${label}: slowest after ramp`,
      value: round(max(afterRamp)),
      unit: 'ms',
      note: `answer or 503, among the ${afterRamp.length} requests sent once all ${CONNECTIONS} connections had a first response`,
    },
  ];
}

/**
 * The harness's own floor: a bare node:http server in its own process that answers every request
 * with 503 at once, under the same 200 connections (10 s). Whatever it shows is not the server's.
 */
async function benchBareServer(autocannon: Autocannon, body: Buffer, type: string): Promise<BenchRow[]> {
  const code =
    "const s = require('node:http').createServer((q, r) => { q.resume(); r.writeHead(503, { 'retry-after': '1' }); r.end('{\"error\":\"busy\"}'); });" +
    "s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));";
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((ok) =>
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /listening on (http:\/\/\S+)/.exec(line);
        if (m) ok(m[1]);
      }),
    );
    const ramp = connectionRamp();
    const all: number[] = [];
    const run = autocannon({
      url,
      connections: CONNECTIONS,
      duration: 10,
      timeout: 10,
      requests: [{ method: 'POST', headers: { 'content-type': type }, body }],
    });
    run.on('response', (client, _status, _bytes, ms) => {
      all.push(ms);
      ramp.record(client, ms);
    });
    await run;
    all.sort((a, b) => a - b);
    return [
      {
        name: 'bare node:http 503 server (harness floor): refused/s',
        value: Math.round(all.length / 10),
        unit: 'req/s',
        note: `${CONNECTIONS} connections × 10 s, one poster + plot body; p99 ${percentile(all, 99).toFixed(1)} ms`,
      },
      ...rampRows('bare node:http 503 server (harness floor)', ramp.firsts, ramp.afterRamp),
    ];
  } finally {
    child.kill('SIGTERM');
  }
}

/** One poster + plot request to every worker (sessions and caches warm), then a short rest. */
async function warmUp(url: string, bodies: Buffer[], type: string, workers: number): Promise<void> {
  for (let i = 0; i < 4 * workers; i++) {
    await new Promise<void>((ok, fail) => {
      const req = request(
        `${url}/api/predict`,
        { method: 'POST', agent: false, headers: { 'content-type': type, connection: 'close' } },
        (res) => {
          res.resume();
          res.on('end', ok);
        },
      );
      req.on('error', fail);
      req.end(bodies[i % bodies.length]);
    });
  }
}

export async function benchServe(): Promise<BenchRow[]> {
  // autocannon ships no types: imported through a variable so the compiler does not look for them.
  const name = 'autocannon';
  const autocannon = ((await import(name)) as { default: Autocannon }).default;
  const movies = await sampleMovies();
  if (!movies) {
    process.stderr.write(`bench serve: the MM-IMDB sample is not at ${SAMPLE}; nothing measured\n`);
    return [];
  }
  const plotBodies = movies.map((m) => Buffer.from(JSON.stringify({ plot: m.plot })));
  const posterBodies = movies.map((m) => multipartBody(m.plot, m.poster));
  const posterKb = movies.reduce((a, m) => a + m.poster.length, 0) / movies.length / 1024;
  const multipartType = `multipart/form-data; boundary=${BOUNDARY}`;

  const rows: BenchRow[] = [
    {
      name: 'posters sent',
      value: movies.length,
      unit: 'movies',
      note: `real MM-IMDB sample posters at ${POSTER_WIDTH} px, JPEG q${POSTER_QUALITY}: ${posterKb.toFixed(1)} KB on average, each with its plot`,
    },
  ];
  rows.push(...(await benchBareServer(autocannon, posterBodies[0], multipartType)));
  // One worker first: it also fills the caches (ONNX export, GloVe) the others then read.
  const counts = [...new Set([1, availableParallelism()])];
  for (const workers of counts) {
    const { child, url } = await startChild(workers);
    const server = { child, url, workers };
    const tag = workers === 1 ? '1 process' : `${workers} workers`;
    try {
      await warmUp(url, posterBodies, multipartType, workers);
      const plot = await load(autocannon, server, plotBodies, 'application/json');
      rows.push(...rowsFor(`${tag}, plot`, plot));
      const poster = await load(autocannon, server, posterBodies, multipartType);
      rows.push(...rowsFor(`${tag}, poster (${posterKb.toFixed(1)} KB) + plot`, poster));
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((ok) => child.once('exit', ok));
        child.kill('SIGTERM');
        await exited;
      }
    }
  }
  mkdirSync(resolve('bench', 'results'), { recursive: true });
  writeJsonAtomic(resolve('bench', 'results', 'serve.json'), { date: new Date().toISOString(), rows });
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchServe();
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(56)} ${r.value.toFixed(1).padStart(10)} ${r.unit.padEnd(8)} ${r.note ?? ''}`,
    );
  }
  process.exit(0);
}
