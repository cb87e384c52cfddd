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
