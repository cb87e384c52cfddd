import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadDataset, detectFormat } from '../../src/data/load.js';
import { TMDB_GENRES } from '../../src/data/tmdb.js';
import { TMDB_TO_MMIMDB, MMIMDB_GENRES } from '../../src/data/genres.js';
import type { Dataset, IssueKind } from '../../src/data/types.js';
import { TMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';
import { makeBadTmdb } from './bad-fixtures.js';

function issuesAt(ds: Dataset, line: number, kind?: IssueKind) {
  return ds.issues.filter((i) => i.line === line && (kind === undefined || i.kind === kind));
}
const record = (ds: Dataset, id: string) => ds.records.find((r) => r.id === id);

describe('TMDB loader on a CSV with every kind of bad row', () => {
  let root: string;
  let ds: Dataset;
  let verified: Dataset;
  before(async () => {
    root = await makeBadTmdb();
    ds = await loadDataset(root, { seed: 3 });
    verified = await loadDataset(join(root, 'movies_metadata.csv'), { verifyPosters: true, seed: 3 });
  });

  test('format detection from the folder and from the CSV', () => {
    assert.equal(detectFormat(root), 'tmdb');
    assert.equal(detectFormat(join(root, 'movies_metadata.csv')), 'tmdb');
    assert.equal(ds.format, 'tmdb');
    assert.deepEqual(ds.labels, [...TMDB_GENRES]);
  });

  test('good rows load with genres, companies, posters and a multi-line overview', () => {
    assert.deepEqual(
      ds.records.map((r) => r.id),
      ['tt0000002', 'tt0000003', 'tt0000004', 'tt0000008', 'tmdb-12', 'tt0000013', 'tt0000014', 'tt0000015'],
    );
    assert.equal(ds.scanned, 14);
    const r2 = record(ds, 'tt0000002');
    assert.deepEqual(r2?.genres, ['Comedy', 'Romance']);
    assert.equal(r2?.posterPath, join(root, 'posters', 'good2.jpg'));
    assert.equal(r2?.meta.tmdbId, '2');
    assert.equal(record(ds, 'tt0000003')?.plot, 'First line,\nsecond "quoted" line.');
    const r4 = record(ds, 'tt0000004');
    assert.deepEqual(r4?.genres, ['Science Fiction']);
    assert.deepEqual(r4?.companies, ["Club d'Investissement", "Workin' Man Films"]);
    assert.equal(r4?.meta.line, 5);
  });

  test('a broken genres literal drops the row, naming the CSV line', () => {
    const [issue] = issuesAt(ds, 6, 'malformed-field');
    assert.equal(issue.id, 'tt0000005');
    assert.match(
      issue.message,
      /^genres is not a Python list of dicts \(expected ',' or '\]' at offset \d+\).*; dropped$/,
    );
    assert.equal(record(ds, 'tt0000005'), undefined);
  });

  test('a shifted row and a row with too few fields are malformed rows', () => {
    assert.match(
      issuesAt(ds, 7, 'malformed-row')[0].message,
      /shifted or broken \(id '1997-08-20', adult ' - Written by Ørnås'\); dropped/,
    );
    assert.match(issuesAt(ds, 8, 'malformed-row')[0].message, /row has 8 fields, the header 24; dropped/);
    assert.equal(record(ds, 'tt0000007'), undefined);
  });

  test('empty and placeholder overviews: the plot goes, the poster keeps the row unless there is none', () => {
    assert.match(issuesAt(ds, 9, 'empty-plot')[0].message, /overview is empty/);
    assert.equal(record(ds, 'tt0000008')?.plot, null);
    assert.ok(record(ds, 'tt0000008')?.posterPath);
    assert.match(issuesAt(ds, 10, 'empty-plot')[0].message, /placeholder \('No overview found\.'\)/);
    assert.match(
      issuesAt(ds, 10, 'no-usable-input')[0].message,
      /neither a usable overview nor a usable poster; dropped/,
    );
    assert.equal(record(ds, 'tt0000009'), undefined);
  });

  test('a duplicate id keeps the first row; an empty genre list drops the row', () => {
    const [dup] = issuesAt(ds, 11, 'duplicate-id');
    assert.equal(dup.message, 'movie tt0000002 (TMDB id 10) repeats line 2; the first row is kept');
    assert.equal(record(ds, 'tt0000002')?.title, 'Title 2');
    assert.match(issuesAt(ds, 12, 'no-known-genre')[0].message, /genres list is empty; dropped/);
  });

  test('missing poster file, PNG under .jpg, unknown genre, broken companies', () => {
    assert.match(issuesAt(ds, 13, 'missing-poster')[0].message, /poster file not found .*absent12\.jpg/);
    assert.equal(record(ds, 'tmdb-12')?.posterPath, null);
    assert.ok(record(ds, 'tmdb-12')?.plot);
    assert.equal(
      issuesAt(ds, 14, 'poster-format-mismatch')[0].message,
      'poster is a PNG under a .jpeg name (accepted)',
    );
    assert.match(issuesAt(ds, 14, 'unknown-genre')[0].message, /Carousel Productions are not TMDB genres/);
    assert.deepEqual(record(ds, 'tt0000013')?.genres, ['Drama']);
    assert.equal(issuesAt(ds, 16, 'malformed-field')[0].severity, 'warning');
    assert.deepEqual(record(ds, 'tt0000015')?.companies, []);
    assert.match(issuesAt(ds, 3, 'missing-poster')[0].message, /no poster_path/);
  });

  test('a truncated poster is dropped only when posters are decoded', () => {
    assert.ok(record(ds, 'tt0000014')?.posterPath);
    assert.match(issuesAt(verified, 15, 'corrupt-poster')[0].message, /cannot be decoded/);
    assert.equal(record(verified, 'tt0000014')?.posterPath, null);
    assert.ok(record(verified, 'tt0000014')?.plot);
  });

  test('every record is in exactly one split, deterministically for a seed', async () => {
    const all = [...ds.splits.train, ...ds.splits.dev, ...ds.splits.test].sort();
    assert.deepEqual(all, ds.records.map((r) => r.id).sort());
    for (const r of ds.records) assert.ok(ds.splits[r.split!].includes(r.id));
    const again = await loadDataset(root, { seed: 3 });
    assert.deepEqual(again.splits, ds.splits);
  });

  test('a CSV without the TMDB columns is not a dataset', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'movies_metadata.csv'), 'a,b\n1,2\n');
    await assert.rejects(
      loadDataset(dir),
      /has no column\(s\) id, genres, overview: not a TMDB movies_metadata\.csv/,
    );
  });
});

test('TMDB names map to MM-IMDB where they differ and are otherwise the same', () => {
  for (const g of TMDB_GENRES) {
    const mapped = g in TMDB_TO_MMIMDB ? TMDB_TO_MMIMDB[g] : g;
    if (mapped !== null) assert.ok((MMIMDB_GENRES as readonly string[]).includes(mapped), g);
  }
  assert.equal(TMDB_TO_MMIMDB['Science Fiction'], 'Sci-Fi');
});

describe('TMDB: the real sample', { skip: skipUnless(TMDB_SAMPLE) }, () => {
  test('2,996 rows, 535 posters, the known problems counted', async () => {
    const ds = await loadDataset(TMDB_SAMPLE);
    assert.equal(ds.scanned, 2996);
    assert.equal(ds.records.filter((r) => r.posterPath).length, 535);
    const count = (k: IssueKind) => ds.issues.filter((i) => i.kind === k).length;
    assert.equal(count('duplicate-id'), 1);
    assert.equal(count('no-known-genre'), 73);
    assert.equal(count('empty-plot'), 18);
    assert.equal(ds.records.length, 2996 - 1 - 73 - count('no-usable-input'));
    assert.ok(ds.records.every((r) => r.genres.length > 0 && (r.plot !== null || r.posterPath !== null)));
    const toy = ds.records.find((r) => r.id === 'tt0114709');
    assert.deepEqual(toy?.genres, ['Animation', 'Comedy', 'Family']);
    assert.deepEqual(toy?.companies, ['Pixar Animation Studios']);
  });
});
