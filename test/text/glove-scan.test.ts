import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanWinkFile } from '../../src/text/glove-scan.js';
import { buildGloveCache, gloveCacheDir, readGloveCache, readGloveManifest } from '../../src/text/glove.js';
import { tempDir } from '../helpers/shared.js';

const DIM = 3;

/** Words whose keys hold what a scanner could trip on, and numbers of every written form. */
const WORDS = ['the', '[', ']', ',', '"', '\\', 'a"],[b', 'café', 'x:{', '}'];
const NUMBERS = [
  '0.038194',
  '-0.24487',
  '5',
  '-0',
  '1e-05',
  '-3.5E+2',
  '0.1234567890123456789',
  '123456789012345678',
  '2.95153011',
  '0.000000000000000000000000123',
  '-7.25',
  '1.5e300',
];

/** A source in the package's layout, rows in reverse order (each row carries its own index). */
function writeSource(spacing = ''): { path: string; text: string } {
  const rows = WORDS.map((w, i) => {
    const nums = [0, 1, 2].map((d) => NUMBERS[(i * DIM + d) % NUMBERS.length]);
    return `${JSON.stringify(w)}:${spacing}[${[...nums, '1.0', String(i)].join(`,${spacing}`)}]`;
  }).reverse();
  const text =
    `{"precision":8,"l2NormIndex":${DIM},"wordIndex":${DIM + 1},"size":${WORDS.length},` +
    `"dimensions":${DIM},"words":${JSON.stringify(WORDS)},"vectors":{${rows.join(`,${spacing}`)}},"unkVector":[0,0,0,0,0]}`;
  const path = join(tempDir('mmgenre-glove-scan-'), 'source.json');
  writeFileSync(path, text, 'utf8');
  return { path, text };
}

/** What JSON.parse makes of the same file, as float32 rows in `words` order. */
function parsedMatrix(text: string): Float32Array {
  // latin1, as the scanner reads it: key lookups then match the words byte for byte.
  const json = JSON.parse(Buffer.from(text, 'utf8').toString('latin1')) as {
    words: string[];
    vectors: Record<string, number[]>;
  };
  const m = new Float32Array(json.words.length * DIM);
  json.words.forEach((w, i) => m.set(json.vectors[w].slice(0, DIM), i * DIM));
  return m;
}

const bits = (m: Float32Array) => Array.from(new Uint32Array(m.buffer));

test('the scan gives the same float32 bits as JSON.parse, for every number form and tricky key', () => {
  for (const spacing of ['', ' \n\t']) {
    const { path, text } = writeSource(spacing);
    const want = parsedMatrix(text);
    // One chunk, and chunks of 64 bytes: rows and numbers cut across chunk boundaries.
    for (const chunk of [8 << 20, 64, 97]) {
      const got = scanWinkFile(path, chunk);
      assert.ok(got, `scanned (chunk ${chunk}, spacing ${JSON.stringify(spacing)})`);
      assert.equal(got.dim, DIM);
      assert.equal(got.words.length, WORDS.length);
      assert.deepEqual(bits(got.matrix), bits(want), `chunk ${chunk}`);
    }
  }
});

test('a file in another layout is refused by the scan and still built, through JSON.parse', () => {
  const { text } = writeSource();
  const dir = tempDir('mmgenre-glove-layout-');
  // vectors before words: the scan finds no words ahead of the vectors
  const reordered = join(dir, 'reordered.json');
  const { vectors, ...rest } = JSON.parse(text) as Record<string, unknown>;
  writeFileSync(reordered, JSON.stringify({ vectors, ...rest }));
  assert.equal(scanWinkFile(reordered), null);
  const cacheDir = tempDir('mmgenre-glove-cache-');
  const m = buildGloveCache({ cacheDir, source: { path: reordered, version: 'reordered' } });
  const built = gloveCacheDir(cacheDir, 'reordered');
  const v = readGloveCache(built, readGloveManifest(built, 'reordered')!);
  assert.equal(m.size, WORDS.length);
  assert.deepEqual(bits(v.matrix), bits(parsedMatrix(readFileSync(reordered, 'utf8'))));
  assert.equal(v.words[7], 'café');

  const short = join(dir, 'short.json');
  writeFileSync(short, text.replace(/,1\.0,0\]/, ',0]'));
  assert.equal(scanWinkFile(short), null, 'a row one number short is not accepted');
});
