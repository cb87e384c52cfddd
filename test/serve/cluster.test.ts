/**
 * `mmgenre serve --workers N` (node:cluster): real worker processes on one port of 127.0.0.1
 * answer the shipped model's predictions exactly as the library does in this process, every
 * worker takes connections, and a full queue refuses at once with 503 + Retry-After.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultModelDir, loadPredictor, type Predictor } from '../../src/predict/index.js';
import { startCluster, type RunningCluster } from '../../src/serve/cluster.js';
import { MMIMDB_SAMPLE, skipUnless } from '../helpers/shared.js';

const skip = skipUnless(MMIMDB_SAMPLE);

/** Real movies of the sample: the poster's bytes and the plot. */
function movies(n: number): Array<{ id: string; poster: Buffer; plot: string }> {
  const dir = join(MMIMDB_SAMPLE, 'dataset');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jpeg'))
    .sort()
    .slice(0, n)
    .map((f) => {
      const id = f.slice(0, -5);
      const json = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8')) as { plot: string[] };
      return { id, poster: readFileSync(join(dir, f)), plot: json.plot[0] };
    });
}

function form(m: { poster: Buffer; plot: string }): FormData {
  const f = new FormData();
  f.append('plot', m.plot);
  f.append('poster', new Blob([new Uint8Array(m.poster)]), 'poster.jpeg');
  return f;
}

/** GET /api/health on a new connection (the primary hands each one to the next worker). */
function healthPid(url: string): Promise<number> {
  return new Promise((ok, fail) => {
    const req = request(`${url}/api/health`, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => ok((JSON.parse(text) as { pid: number }).pid));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('serve --workers: processes sharing one port', { skip, timeout: 240_000 }, () => {
  let cluster: RunningCluster;
  let local: Predictor;
  before(async () => {
    [cluster, local] = await Promise.all([
      // A small queue, so that a burst meets back-pressure.
      startCluster({ model: defaultModelDir(), port: 0, maxQueue: 4, deadlineMs: 500 }, 2),
      loadPredictor(),
    ]);
  });
  after(async () => {
    local?.dispose();
    await cluster?.close();
  });

  test('both workers answer on one port, with the predictions of the in-process library', async () => {
    assert.match(cluster.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const pids = new Set<number>();
    for (let i = 0; i < 6 && pids.size < 2; i++) pids.add(await healthPid(cluster.url));
    assert.deepEqual([...pids].sort(), cluster.pids().sort());
    assert.ok(!pids.has(process.pid));

    for (const m of movies(4)) {
      const res = await fetch(`${cluster.url}/api/predict`, { method: 'POST', body: form(m) });
      const body = (await res.json()) as { scores: Record<string, number>; genres: string[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      const [want] = await local.predict([{ poster: m.poster, plot: m.plot }]);
      assert.deepEqual(body.scores, want.scores, m.id);
      assert.deepEqual(body.genres, want.genres, m.id);
    }
  });

  test('a burst over the queue is refused at once with 503 + Retry-After, never left waiting', async () => {
    const sample = movies(40);
    const results = await Promise.all(
      sample.map(async (m) => {
        const t = performance.now();
        const res = await fetch(`${cluster.url}/api/predict`, {
          method: 'POST',
          body: form(m),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        return { status: res.status, ms: performance.now() - t, retry: res.headers.get('retry-after') };
      }),
    );
    const refused = results.filter((r) => r.status === 503);
    const statuses = JSON.stringify(results.map((r) => r.status));
    assert.ok(
      results.every((r) => r.status === 200 || r.status === 503),
      statuses,
    );
    assert.ok(refused.length > 0 && refused.length < results.length, statuses);
    for (const r of refused) assert.ok(Number(r.retry) >= 1, 'Retry-After in seconds');
    // The server is in other processes: the refusal time is the server's (plus this loop's).
    const slowest = Math.max(...refused.map((r) => r.ms));
    assert.ok(slowest < 1000, `refusals within 1 s: the slowest took ${slowest.toFixed(0)} ms`);
  });
});
