import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../src/util/atomic.js';
import { tempDir } from './helpers/shared.js';
import { MMIMDB_GENRES, multiHot } from '../src/data/genres.js';

test('writeFileAtomic replaces the file and leaves no temp file behind', () => {
  const dir = tempDir();
  const p = join(dir, 'sub', 'a.json');
  writeJsonAtomic(p, { a: 1 });
  writeFileAtomic(p, '{"a":2}');
  assert.deepEqual(JSON.parse(readFileSync(p, 'utf8')), { a: 2 });
  assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.json']);
});

test('the 23 genres are in the paper order and multiHot follows it', () => {
  assert.equal(MMIMDB_GENRES.length, 23);
  assert.equal(MMIMDB_GENRES[0], 'Drama');
  assert.equal(MMIMDB_GENRES[22], 'Film-Noir');
  const v = multiHot(['Comedy', 'Film-Noir', 'News'], MMIMDB_GENRES);
  assert.equal(
    v.reduce((a, b) => a + b, 0),
    2,
  );
  assert.equal(v[1], 1);
  assert.equal(v[22], 1);
});

test('startWorker runs a TypeScript worker module from sources', async () => {
  const { startWorker } = await import('../src/util/workers.js');
  const w = startWorker(new URL('./helpers/echo-worker.ts', import.meta.url), { workerData: { n: 21 } });
  const msg = await new Promise<{ doubled: number }>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.equal(msg.doubled, 42);
  await w.terminate();
});

test('formatSeconds never prints 60 seconds within a minute', async () => {
  const { formatSeconds } = await import('../src/util/progress.js');
  assert.equal(formatSeconds(119.6), '2m00s');
  assert.equal(formatSeconds(59.4), '59s');
  assert.equal(formatSeconds(3725), '1h02m');
  assert.equal(formatSeconds(NaN), '?');
});
