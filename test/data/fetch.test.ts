import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tar from 'tar';
import { downloadFile, fetchMmimdb } from '../../src/data/fetch.js';
import { synthesizeDataset } from '../../src/data/synth.js';
import { loadDataset } from '../../src/data/load.js';
import { ROOT, tempDir } from '../helpers/shared.js';

process.env.MMGENRE_QUIET = '1';

interface Plan {
  /** Cut the connection half-way through the first request. */
  cutFirst?: boolean;
  /** Where the client writes: the cut waits until the first half has reached this file, so the test is deterministic. */
  partFile?: string;
  /** Answer every request with 200 and the whole body (a server without Range support). */
  ignoreRange?: boolean;
  status?: number;
}

interface TestServer {
  url: string;
  requests: Array<{ range?: string; ifRange?: string }>;
  close(): Promise<void>;
}

const ETAG = '"mmimdb-v1"';

/** Resolve once `path` holds at least `bytes` bytes (or after 10 s, or at once without a path). */
async function waitForSize(path: string | undefined, bytes: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (path && Date.now() < deadline) {
    if (existsSync(path) && statSync(path).size >= bytes) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A real HTTP server on 127.0.0.1 serving `body` at /mmimdb.tar.gz as `plan` says. */
async function serve(body: Buffer, plan: Plan = {}, name = 'mmimdb.tar.gz'): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const range = req.headers.range;
    const ifRange = req.headers['if-range'] as string | undefined;
    requests.push({ range, ifRange });
    if (req.url !== `/${name}`) {
      res.writeHead(404).end('not found');
      return;
    }
    if (plan.status) {
      res.writeHead(plan.status).end();
      return;
    }
    if (plan.cutFirst && requests.length === 1) {
      res.writeHead(200, { 'content-length': body.length, etag: ETAG, 'accept-ranges': 'bytes' });
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half), () => {
        void waitForSize(plan.partFile, half).then(() => res.socket?.destroy());
      });
      return;
    }
    const m = range?.match(/^bytes=(\d+)-$/);
    if (m && !plan.ignoreRange && (!ifRange || ifRange === ETAG)) {
      const start = Number(m[1]);
      res.writeHead(206, {
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
        'content-length': body.length - start,
        etag: ETAG,
      });
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(200, { 'content-length': body.length, etag: ETAG });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${name}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

let archive: Buffer;
const servers: TestServer[] = [];
async function server(plan: Plan, body = archive): Promise<TestServer> {
  const s = await serve(body, plan);
  servers.push(s);
  return s;
}

before(async () => {
  // A small archive in the official layout: mmimdb/split.json + mmimdb/dataset/<id>.{json,jpeg}.
  const src = tempDir();
  await synthesizeDataset({ out: join(src, 'mmimdb'), n: 8, seed: 3, silent: true });
  const file = join(src, 'mmimdb.tar.gz');
  await tar.c({ gzip: true, file, cwd: src, portable: true }, ['mmimdb']);
  archive = readFileSync(file);
  assert.ok(archive.length > 20_000, `archive of ${archive.length} bytes`);
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

test('an interrupted download resumes with a Range request in the next run and ends byte-identical', async () => {
  const dest = join(tempDir(), 'mmimdb.tar.gz');
  const s = await server({ cutFirst: true, partFile: `${dest}.part` });
  await assert.rejects(
    downloadFile({ url: s.url, dest, retries: 0, silent: true }),
    /interrupted.*run again to resume/s,
  );
  assert.equal(existsSync(dest), false, 'no file under the final name');
  const kept = statSync(`${dest}.part`).size;
  assert.ok(kept > 0 && kept < archive.length, `kept ${kept} of ${archive.length}`);

  const r = await downloadFile({ url: s.url, dest, retries: 0, silent: true });
  assert.equal(r.resumedFrom, kept);
  assert.equal(s.requests.length, 2);
  assert.equal(s.requests[1].range, `bytes=${kept}-`);
  assert.equal(s.requests[1].ifRange, ETAG);
  assert.equal(r.sha256, sha(archive));
  assert.ok(readFileSync(dest).equals(archive));
  assert.equal(existsSync(`${dest}.part`), false);
  assert.equal(existsSync(`${dest}.part.json`), false);
});

test('fetchMmimdb retries a dropped connection, extracts, and a second run downloads nothing', async () => {
  const dir = tempDir();
  const s = await server({ cutFirst: true, partFile: join(dir, 'mmimdb.tar.gz.part') });
  const first = await fetchMmimdb({ dir, url: s.url, silent: true, retryDelayMs: 10, sha256: sha(archive) });
  assert.equal(first.download.requests, 2);
  assert.ok(first.download.resumedFrom === 0 && first.download.bytes === archive.length);
  assert.equal(s.requests[1].range, `bytes=${Math.floor(archive.length / 2)}-`);
  assert.equal(first.extracted, true);
  assert.equal(first.datasetDir, join(dir, 'mmimdb'));
  const ds = await loadDataset(first.datasetDir!);
  assert.equal(ds.records.length, 8);
  assert.deepEqual(
    ds.issues.filter((i) => i.severity === 'error'),
    [],
  );

  const second = await fetchMmimdb({ dir, url: s.url, silent: true, sha256: sha(archive) });
  assert.equal(second.download.skipped, true);
  assert.equal(second.extracted, false);
  assert.equal(s.requests.length, 2, 'no request for a complete, verified file');
});

test('a server that ignores Range restarts from zero instead of corrupting the file', async () => {
  const dest = join(tempDir(), 'mmimdb.tar.gz');
  const s = await server({ cutFirst: true, ignoreRange: true, partFile: `${dest}.part` });
  await assert.rejects(downloadFile({ url: s.url, dest, retries: 0, silent: true }));
  assert.ok(statSync(`${dest}.part`).size > 0);
  const r = await downloadFile({ url: s.url, dest, retries: 0, silent: true });
  assert.ok(s.requests[1].range, 'a Range was asked for');
  assert.ok(readFileSync(dest).equals(archive), 'the full body replaced the part, not appended to it');
  assert.equal(r.sha256, sha(archive));
});

test('a wrong checksum fails clearly and leaves no file that looks complete', async () => {
  const s = await server({});
  const dir = tempDir();
  const wrong = 'ab'.repeat(32);
  await assert.rejects(
    fetchMmimdb({ dir, url: s.url, sha256: wrong, silent: true }),
    new RegExp(`checksum mismatch for mmimdb.tar.gz .*expected SHA-256 ${wrong}, got ${sha(archive)}`),
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('HTTP errors and a corrupt archive give clear errors', async () => {
  const missing = await server({ status: 404 });
  await assert.rejects(fetchMmimdb({ dir: tempDir(), url: missing.url, silent: true }), /HTTP 404/);
  const truncated = await server({}, archive.subarray(0, Math.floor(archive.length * 0.6)));
  const dir = tempDir();
  await assert.rejects(fetchMmimdb({ dir, url: truncated.url, silent: true }), /extraction failed/);
  assert.equal(existsSync(join(dir, 'mmimdb')), false, 'nothing half-extracted under the final name');
});

test('mmgenre data fetch mmimdb downloads and extracts; a bad checksum exits with 2', async () => {
  const s = await server({});
  const dir = tempDir();
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), ...args], {
      env: { ...process.env, MMGENRE_QUIET: '1', MMGENRE_FROM_SOURCE: '1' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );
  const ok = await run(['data', 'fetch', 'mmimdb', '--dir', dir, '--url', s.url]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`sha256 ${sha(archive)}`));
  assert.match(ok.stdout, /extracted: .*mmimdb/);
  const bad = await run([
    'data',
    'fetch',
    'mmimdb',
    '--dir',
    tempDir(),
    '--url',
    s.url,
    '--sha256',
    '0'.repeat(64),
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /checksum mismatch/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace for a user error');
});
