import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { readPredictions } from '../../src/eval/predictions.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { trainTinyRun, type TinyRun } from '../predict/fixture.js';

let tiny: TinyRun;
let server: RunningServer;
let runId: string;

function testMovie(k = 0): { id: string; poster: string; plot: string; scores: Record<string, number> } {
  const row = readPredictions(join(tiny.runDir, 'predictions-test.jsonl')).rows[k];
  const json = JSON.parse(readFileSync(join(tiny.dataDir, 'dataset', `${row.id}.json`), 'utf8')) as {
    plot: string[];
  };
  // The loader reads the longest plot (MM-IMDB keeps several).
  const plot = json.plot.reduce((a, b) => (b.length > a.length ? b : a));
  return { id: row.id, poster: join(tiny.dataDir, 'dataset', `${row.id}.jpeg`), plot, scores: row.scores };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies of every shape, checked field by field
async function call(path: string, init?: RequestInit): Promise<{ status: number; body: any; type: string }> {
  const res = await fetch(`${server.url}${path}`, init);
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
  return { status: res.status, body, type };
}

function multipart(fields: Record<string, string | Blob>): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') form.append(k, v);
    else form.append(k, v, 'poster.jpg');
  }
  return form;
}

/** After a bad request, a good one still works. */
async function stillServes(): Promise<void> {
  const r = await call('/api/predict', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ plot: testMovie(0).plot }),
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(Object.keys(r.body.scores).length, 23);
}

async function expectError(
  path: string,
  init: RequestInit | undefined,
  status: number | number[],
  error?: RegExp,
) {
  const r = await call(path, init);
  const want = Array.isArray(status) ? status : [status];
  assert.ok(
    want.includes(r.status),
    `${path}: expected ${want.join('/')}, got ${r.status} ${JSON.stringify(r.body)}`,
  );
  assert.match(r.type, /application\/json/);
  assert.equal(typeof r.body.error, 'string');
  assert.ok(r.body.message.length > 5, 'a clear message');
  if (error) assert.match(r.body.error, error);
  await stillServes();
}

describe('mmgenre serve API', { timeout: 240_000 }, () => {
  before(async () => {
    tiny = await trainTinyRun();
    server = await startServer({ model: tiny.runDir, runsDir: tiny.runsDir, port: 0 });
    runId = 'tiny-mlp';
  });
  after(async () => server?.close());

  test('listens on 127.0.0.1 and answers /api/health with memory figures', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await call('/api/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.model, runId);
    assert.ok(r.body.memory.rss > 10_000_000);
  });

  test('GET /api/runs and /api/runs/:id give the runs with their metrics', async () => {
    const list = await call('/api/runs');
    assert.equal(list.status, 200);
    assert.equal(list.body.default, runId);
    assert.deepEqual(
      list.body.runs.map((r: { id: string }) => r.id),
      [runId],
      'the --model run inside --runs is listed once',
    );
    const run = list.body.runs[0];
    assert.equal(run.status, 'done');
    assert.deepEqual(
      run.inputs.map((i: { input: string }) => i.input),
      ['poster', 'plot'],
    );
    const evalJson = JSON.parse(readFileSync(join(tiny.runDir, 'eval.json'), 'utf8'));
    assert.equal(run.metrics.test.at05.macro, evalJson.test.at05.f1.macro);
    const one = await call(`/api/runs/${runId}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.info.name, 'tiny-mlp');
    assert.equal(one.body.eval.test.tuned.f1.micro, evalJson.test.tuned.f1.micro);
    assert.equal(one.body.spec.family, 'mlp');
  });

  test('POST /api/predict, multipart with a poster and a plot, equals the trainer', async () => {
    const m = testMovie(0);
    const form = multipart({ poster: new Blob([readFileSync(m.poster)]), plot: m.plot });
    const r = await call('/api/predict', { method: 'POST', body: form });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.inputsUsed, ['poster', 'plot']);
    assert.equal(r.body.thresholds.kind, '0.5', 'the one default policy');
    for (const g of Object.keys(m.scores)) assert.ok(Math.abs(r.body.scores[g] - m.scores[g]) < 1e-5, g);
    // Cross-check with the CLI-independent library path: the JSON body with a base64 poster.
    const j = await call('/api/predict?threshold=0.5', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plot: m.plot, poster: readFileSync(m.poster).toString('base64') }),
    });
    assert.equal(j.status, 200, JSON.stringify(j.body));
    assert.equal(j.body.thresholds.kind, '0.5');
    for (const g of Object.keys(r.body.scores))
      assert.ok(Math.abs(r.body.scores[g] - j.body.scores[g]) < 1e-6);
    assert.equal(r.body.ranked.length, 23);
    assert.deepEqual(
      r.body.ranked.filter((x: { predicted: boolean }) => x.predicted).map((x: { genre: string }) => x.genre),
      r.body.genres,
    );
  });

  test('concurrent predictions all succeed (and are batched)', async () => {
    const movies = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => testMovie(k));
    const results = await Promise.all(
      movies.map((m) =>
        call('/api/predict', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ plot: m.plot }),
        }),
      ),
    );
    assert.ok(results.every((r) => r.status === 200));
    const h = await call('/api/health');
    assert.ok(h.body.predictions.predictions >= 8);
  });

  test('GET /api/runs/:id/movies filters by genre and right/wrong', async () => {
    const all = await call(`/api/runs/${runId}/movies?limit=1000`);
    assert.equal(all.status, 200);
    assert.equal(all.body.total, 18);
    const mv = all.body.movies[0];
    assert.ok(Array.isArray(mv.trueGenres) && mv.trueGenres.length > 0);
    assert.equal(typeof mv.correct, 'boolean');
    const genre = mv.trueGenres[0];
    const withGenre = await call(`/api/runs/${runId}/movies?genre=${encodeURIComponent(genre)}&limit=1000`);
    assert.ok(withGenre.body.total > 0);
    for (const x of withGenre.body.movies) {
      assert.ok(x.trueGenres.includes(genre) || x.predictedGenres.includes(genre));
      assert.equal(x.genreCorrect, x.trueGenres.includes(genre) === x.predictedGenres.includes(genre));
    }
    const right = await call(
      `/api/runs/${runId}/movies?genre=${encodeURIComponent(genre)}&correct=true&limit=1000`,
    );
    const wrong = await call(
      `/api/runs/${runId}/movies?genre=${encodeURIComponent(genre)}&correct=false&limit=1000`,
    );
    assert.equal(right.body.total + wrong.body.total, withGenre.body.total);
    assert.ok(right.body.movies.every((x: { genreCorrect: boolean }) => x.genreCorrect));
    assert.ok(wrong.body.movies.every((x: { genreCorrect: boolean }) => !x.genreCorrect));
    const exactWrong = await call(`/api/runs/${runId}/movies?correct=wrong&limit=1000`);
    assert.ok(exactWrong.body.movies.every((x: { correct: boolean }) => x.correct === false));
    await expectError(`/api/runs/${runId}/movies?genre=Polka`, undefined, 400, /unknown_genre/);
    await expectError(`/api/runs/${runId}/movies?correct=maybe`, undefined, 400);
  });

  test("GET /api/runs/:id/poster/:movieId gives a JPEG thumbnail of the run's movies only", async () => {
    const m = testMovie(0);
    const r = await call(`/api/runs/${runId}/poster/${m.id}`);
    assert.equal(r.status, 200);
    assert.equal(r.type, 'image/jpeg');
    const meta = await sharp(r.body as Buffer).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 185);
    await expectError(`/api/runs/${runId}/poster/not-a-movie`, undefined, 404);
    await expectError(`/api/runs/${runId}/poster/..%2F..%2F..%2Fetc%2Fpasswd`, undefined, 404);
  });

  test('GET /api/runs/:id/report serves the report when the module exists', async () => {
    const r = await call(`/api/runs/${runId}/report`);
    const hasReport = existsSync(join('src', 'report', 'html.ts'));
    if (r.status === 501) {
      assert.equal(r.body.error, 'report_unavailable');
      return;
    }
    assert.ok(hasReport);
    assert.equal(r.status, 200, String(r.body).slice(0, 300));
    assert.match(r.type, /text\/html/);
    assert.match(String(r.body), /<svg/);
  });

  test('bad input: clear 4xx JSON, and the server keeps answering', async () => {
    const json = (body: string) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    // upload over 10 MB (a real JPEG header so only the size is wrong)
    const big = Buffer.alloc(10 * 1024 * 1024 + 100, 7);
    readFileSync(testMovie(0).poster).copy(big);
    await expectError('/api/predict', { method: 'POST', body: multipart({ poster: new Blob([big]) }) }, 413);
    await expectError('/api/predict', json(JSON.stringify({ poster: big.toString('base64') })), 413);
    // a file that is not an image; an image that cannot be decoded
    await expectError(
      '/api/predict',
      { method: 'POST', body: multipart({ poster: new Blob([Buffer.from('#!/bin/sh\necho hi\n')]) }) },
      [415, 422],
      /not_an_image/,
    );
    const truncated = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(50, 1)]);
    await expectError(
      '/api/predict',
      { method: 'POST', body: multipart({ poster: new Blob([truncated]) }) },
      422,
    );
    // empty requests
    await expectError('/api/predict', { method: 'POST' }, 400, /empty_request/);
    await expectError('/api/predict', json('{}'), 400, /empty_request/);
    await expectError(
      '/api/predict',
      { method: 'POST', body: multipart({ plot: '   ' }) },
      400,
      /empty_request/,
    );
    // malformed JSON, wrong types, unknown media type
    await expectError('/api/predict', json('{"plot": "unterminated'), 400, /malformed_json/);
    await expectError('/api/predict', json('{"plot": 42}'), 400);
    await expectError('/api/predict', json('{"poster": "%%%not base64%%%"}'), 400);
    await expectError(
      '/api/predict',
      { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a plot' },
      415,
    );
    // a plot with no usable word and no poster
    await expectError('/api/predict', json('{"plot": "?! ... !?"}'), 422, /no_usable_input/);
    // run ids: unknown, and paths in every spelling
    await expectError('/api/runs/no-such-run', undefined, 404, /unknown_run/);
    await expectError('/api/predict?run=no-such-run', json('{"plot":"x"}'), 404);
    for (const id of [
      '..%2F..%2Fetc%2Fpasswd',
      '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '..',
      '..%5C..%5Cwindows',
      '%2Fetc%2Fpasswd',
    ]) {
      await expectError(`/api/runs/${id}`, undefined, [400, 404]);
      await expectError(`/api/runs/${id}/movies`, undefined, [400, 404]);
      await expectError(`/api/runs/${id}/report`, undefined, [400, 404]);
    }
    const raw = await fetch(`${server.url}/api/runs/../../etc/passwd`);
    assert.ok([400, 404].includes(raw.status));
    assert.doesNotMatch(await raw.text(), /root:/);
    await expectError('/no/such/route', undefined, 404, /not_found/);
  });

  test('the web page and its files are served', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/app.js">/);
    assert.doesNotMatch(html, /https?:\/\/(?!127)/, 'no CDN');
    for (const f of ['/app.js', '/style.css']) assert.equal((await fetch(`${server.url}${f}`)).status, 200);
  });
});
