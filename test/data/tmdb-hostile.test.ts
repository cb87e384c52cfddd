import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/load.js';
import type { Dataset } from '../../src/data/types.js';
import { TMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';

/** The sample's header and first data rows, as bytes, one entry per line. */
function sampleLines(count: number): Buffer[] {
  const bytes = readFileSync(join(TMDB_SAMPLE, 'movies_metadata.csv'));
  const out: Buffer[] = [];
  let start = 0;
  while (out.length < count) {
    const end = bytes.indexOf(0x0a, start);
    out.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return out;
}

function replaceOnce(line: Buffer, from: string, to: string | Buffer): Buffer {
  const at = line.indexOf(from);
  assert.ok(at >= 0, `'${from}' not in the sample row`);
  return Buffer.concat([line.subarray(0, at), Buffer.from(to), line.subarray(at + Buffer.byteLength(from))]);
}

async function load(lines: Buffer[]): Promise<Dataset> {
  const dir = tempDir('mmgenre-tmdb-hostile-');
  writeFileSync(
    join(dir, 'movies_metadata.csv'),
    Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])),
  );
  return loadDataset(dir, { seed: 1 });
}

const ids = (ds: Dataset): string[] => ds.records.map((r) => r.id);
const problems = (ds: Dataset) => ds.issues.filter((i) => i.kind !== 'missing-poster');

// Lines 2-9 of the sample: Toy Story (tt0114709), Jumanji (tt0113497), Grumpier Old Men (tt0113228), ...
describe('TMDB rows broken the way real exports break', { skip: skipUnless(TMDB_SAMPLE) }, () => {
  const clean = sampleLines(9);
  let all: string[] = [];

  test('the untouched rows all load (the baseline the others are compared with)', async () => {
    const ds = await load(clean);
    all = ids(ds);
    assert.equal(all.length, 8);
    assert.deepEqual(all.slice(0, 3), ['tt0114709', 'tt0113497', 'tt0113228']);
    assert.deepEqual(problems(ds), []);
  });

  test('an unterminated quote drops its own row only and names it; the row it ran into is kept', async () => {
    // Jumanji's tagline opens a quote that nothing closes: a parser reads on into Grumpier Old Men.
    const lines = [...clean];
    lines[2] = replaceOnce(lines[2], ',Roll the dice', ',"Roll the dice');
    const ds = await load(lines);
    assert.deepEqual(
      ids(ds),
      all.filter((id) => id !== 'tt0113497'),
    );
    const [issue, ...rest] = problems(ds);
    assert.deepEqual(rest, []);
    assert.equal(issue.kind, 'malformed-row');
    assert.equal(issue.severity, 'error');
    assert.equal(issue.id, 'tt0113497');
    assert.equal(issue.line, 3);
    assert.match(issue.message, /quote opened on line 3 is not closed before the row on line 4 starts/);
    assert.equal(ds.scanned, 8, 'the dropped row is still counted as read');
    const grumpier = ds.records.find((r) => r.id === 'tt0113228');
    assert.equal(grumpier?.title, 'Grumpier Old Men');
    assert.match(grumpier?.plot ?? '', /^A family wedding reignites/);
    assert.equal(grumpier?.meta.line, 4);
  });

  test('two broken rows in a row: each is named, every good row after them is kept', async () => {
    const lines = [...clean];
    lines[1] = replaceOnce(lines[1], 'Released,,Toy Story', 'Released,"oops,Toy Story');
    lines[2] = replaceOnce(lines[2], ',Roll the dice', ',"Roll the dice');
    const ds = await load(lines);
    assert.deepEqual(ids(ds), all.slice(2));
    assert.deepEqual(
      problems(ds).map((i) => [i.line, i.id, i.kind]),
      [
        [2, 'tt0114709', 'malformed-row'],
        [3, 'tt0113497', 'malformed-row'],
      ],
    );
  });

  test('a plot with bytes that are not UTF-8 is kept, with a warning naming the movie', async () => {
    // Grumpier Old Men's "divorcée" saved as Latin-1 (0xE9), as a spreadsheet export would.
    const lines = [...clean];
    lines[3] = replaceOnce(
      lines[3],
      'divorcée',
      Buffer.from([0x64, 0x69, 0x76, 0x6f, 0x72, 0x63, 0xe9, 0x65]),
    );
    const ds = await load(lines);
    assert.deepEqual(ids(ds), all);
    const [issue, ...rest] = problems(ds);
    assert.deepEqual(rest, [], 'only that movie is warned about');
    assert.equal(issue.kind, 'invalid-encoding');
    assert.equal(issue.severity, 'warning');
    assert.equal(issue.id, 'tt0113228');
    assert.equal(issue.line, 4);
    assert.match(issue.message, /^overview of movie tt0113228 holds bytes that are not UTF-8/);
    assert.match(issue.message, /divorc\uFFFDe/);
    assert.match(issue.message, /iconv/);
    assert.match(ds.records.find((r) => r.id === 'tt0113228')?.plot ?? '', /divorc\uFFFDe opens/);
  });
});
