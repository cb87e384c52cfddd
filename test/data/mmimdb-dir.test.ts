import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, detectFormat, DatasetFormatError } from '../../src/data/load.js';
import type { Dataset, IssueKind, RecordIssue } from '../../src/data/types.js';
import { MMIMDB_GENRES } from '../../src/data/genres.js';
import { MMIMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';
import { GOOD_IDS, makeBadMmimdb } from './bad-fixtures.js';

function issueFor(ds: Dataset, id: string, kind: IssueKind): RecordIssue {
  const found = ds.issues.find((i) => i.id === id && i.kind === kind);
  assert.ok(
    found,
    `expected a ${kind} issue for ${id}; got ${JSON.stringify(ds.issues.filter((i) => i.id === id))}`,
  );
  return found;
}
const record = (ds: Dataset, id: string) => ds.records.find((r) => r.id === id);

describe('MM-IMDB directory loader on a dataset with every kind of bad record', () => {
  let root: string;
  let fast: Dataset;
  let verified: Dataset;
  before(async () => {
    root = await makeBadMmimdb();
    fast = await loadDataset(root);
    verified = await loadDataset(root, { verifyPosters: true });
  });

  test('the good records all load, with the longest plot, their genres and unknown keys kept', () => {
    for (const ds of [fast, verified]) {
      assert.equal(ds.format, 'mmimdb-dir');
      assert.deepEqual(ds.labels, [...MMIMDB_GENRES]);
      for (const id of GOOD_IDS) {
        const r = record(ds, id);
        assert.ok(r, `good record ${id} missing`);
        assert.match(r.plot ?? '', /^The longest plot of movie \d+, about a family and a dog\.::someone$/);
        assert.deepEqual(r.genres, ['Drama', 'Comedy']);
        assert.equal(r.posterPath, join(root, 'dataset', `${id}.jpeg`));
        assert.equal(r.title, `Movie ${id}`);
        assert.deepEqual(r.meta['some new key'], { nested: true });
        assert.equal(r.meta.year, 1999);
      }
      assert.deepEqual(
        ds.issues.filter((i) => GOOD_IDS.includes(i.id ?? '')),
        [],
      );
    }
  });

  test('splits list exactly the loaded records, in split.json order', () => {
    assert.deepEqual(verified.splits.train, [
      '1000001',
      '1000002',
      '2000001',
      '2000002',
      '2000003',
      '2000010',
    ]);
    assert.deepEqual(verified.splits.dev, ['1000003', '2000005', '2000006']);
    assert.deepEqual(verified.splits.test, ['1000004', '2000008', '2000012', '2000013']);
    const ids = new Set(verified.records.map((r) => r.id));
    for (const s of ['train', 'dev', 'test'] as const)
      for (const id of verified.splits[s]) assert.ok(ids.has(id));
    assert.equal(verified.records.length, 13);
    assert.equal(verified.scanned, 17); // 18 entries, one id listed twice
  });

  test('a truncated JPEG is caught by decoding: the poster is dropped, the plot kept', () => {
    const issue = issueFor(verified, '2000001', 'corrupt-poster');
    assert.equal(issue.severity, 'error');
    assert.match(issue.message, /cannot be decoded: .*premature end of JPEG/i);
    assert.match(issue.file ?? '', /2000001\.jpeg$/);
    const r = record(verified, '2000001');
    assert.equal(r?.posterPath, null);
    assert.match(r?.plot ?? '', /longest plot/);
    // Without decoding the header looks fine: the fast path keeps it.
    assert.equal(record(fast, '2000001')?.posterPath, join(root, 'dataset', '2000001.jpeg'));
  });

  test('a PNG or GIF under a .jpeg name is accepted with a warning', () => {
    for (const [id, fmt] of [
      ['2000002', 'PNG'],
      ['2000003', 'GIF'],
    ]) {
      for (const ds of [fast, verified]) {
        const issue = issueFor(ds, id, 'poster-format-mismatch');
        assert.equal(issue.severity, 'warning');
        assert.equal(issue.message, `poster is a ${fmt} under a .jpeg name (accepted)`);
        assert.equal(record(ds, id)?.posterPath, join(root, 'dataset', `${id}.jpeg`));
      }
    }
  });

  test('invalid JSON drops the record and names the line', () => {
    const issue = issueFor(fast, '2000004', 'invalid-json');
    assert.equal(issue.severity, 'error');
    assert.match(issue.message, /^invalid JSON: .*; dropped$/);
    assert.equal(issue.line, 5);
    assert.equal(record(fast, '2000004'), undefined);
  });

  test('an empty or missing plot drops the plot only', () => {
    assert.match(
      issueFor(fast, '2000005', 'empty-plot').message,
      /'plot' is empty; the movie keeps its poster/,
    );
    assert.match(issueFor(fast, '2000006', 'missing-plot').message, /no 'plot'/);
    for (const id of ['2000005', '2000006']) {
      const r = record(verified, id);
      assert.equal(r?.plot, null);
      assert.ok(r?.posterPath);
    }
    assert.deepEqual(record(fast, '2000006')?.genres, ['Horror']);
  });

  test('no known genre drops the record; a dropped genre beside a known one is a warning', () => {
    const issue = issueFor(fast, '2000007', 'no-known-genre');
    assert.match(issue.message, /none of the genres \[News\] is one of the 23 MM-IMDB genres; dropped/);
    assert.equal(record(fast, '2000007'), undefined);
    const w = issueFor(fast, '2000013', 'unknown-genre');
    assert.equal(w.severity, 'warning');
    assert.match(w.message, /News left out \(removed from the label set, as in the paper\)/);
    assert.deepEqual(record(fast, '2000013')?.genres, ['Drama']);
  });

  test('a missing poster or a non-image .jpeg drops the poster only', () => {
    assert.match(
      issueFor(fast, '2000008', 'missing-poster').message,
      /no poster 2000008\.jpeg; the movie keeps its plot/,
    );
    assert.match(issueFor(fast, '2000012', 'corrupt-poster').message, /not an image/);
    for (const id of ['2000008', '2000012']) {
      assert.equal(record(fast, id)?.posterPath, null);
      assert.ok(record(fast, id)?.plot);
    }
  });

  test('an id in split.json with no file is reported and dropped', () => {
    const issue = issueFor(fast, '2000009', 'split-id-without-file');
    assert.match(issue.message, /listed in split\.json but dataset\/ has no 2000009\.json/);
    assert.equal(record(fast, '2000009'), undefined);
  });

  test('a duplicate id across splits is kept once, in its first split', () => {
    const issue = issueFor(fast, '2000010', 'duplicate-id');
    assert.equal(issue.message, "id 2000010 is in both 'train' and 'test'; kept in 'train' only");
    assert.equal(fast.records.filter((r) => r.id === '2000010').length, 1);
    assert.equal(record(fast, '2000010')?.split, 'train');
    assert.ok(!fast.splits.test.includes('2000010'));
  });

  test('files in no split are reported, not loaded', () => {
    const issues = fast.issues.filter((i) => i.id === '2000011');
    assert.equal(issues.length, 1);
    assert.equal(issues[0].kind, 'file-not-in-split');
    assert.match(issues[0].message, /no split in split\.json lists id 2000011; not loaded/);
    assert.equal(record(fast, '2000011'), undefined);
  });

  test('a movie with neither plot nor poster is dropped', () => {
    assert.match(
      issueFor(fast, '2000014', 'no-usable-input').message,
      /neither a usable plot nor a usable poster/,
    );
    assert.equal(record(fast, '2000014'), undefined);
  });
});

describe('MM-IMDB directory: what is not a dataset', () => {
  test('detectFormat and loadDataset refuse a folder that is no dataset, with a clear message', async () => {
    const dir = tempDir();
    assert.equal(detectFormat(dir), null);
    await assert.rejects(
      loadDataset(dir),
      (e: unknown) => e instanceof DatasetFormatError && /is not a dataset/.test(e.message),
    );
  });

  test('a split.json that is not JSON is a format error naming the file', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'dataset'));
    writeFileSync(join(dir, 'split.json'), '{"train": [1, 2,');
    assert.equal(detectFormat(dir), 'mmimdb-dir');
    await assert.rejects(
      loadDataset(dir),
      (e: unknown) => e instanceof DatasetFormatError && /split\.json.* is not valid JSON/.test(e.message),
    );
  });

  test('a split.json of the wrong shape is refused', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'dataset'));
    writeFileSync(join(dir, 'split.json'), '{"train": "abc"}');
    await assert.rejects(loadDataset(dir), /must be an object \{train, dev, test\} of id lists: train/);
  });
});

describe('MM-IMDB directory: the real sample', { skip: skipUnless(MMIMDB_SAMPLE) }, () => {
  // Load time is measured by bench/data.ts (a timed test would be flaky on a busy CI machine).
  test('1,645 valid movies, 967 / 174 / 504; the only issues are 28 "N/A" plots (placeholders)', async () => {
    const ds = await loadDataset(MMIMDB_SAMPLE);
    assert.equal(ds.records.length, 1645);
    assert.deepEqual([ds.splits.train.length, ds.splits.dev.length, ds.splits.test.length], [967, 174, 504]);
    assert.deepEqual(
      [...new Set(ds.issues.map((i) => `${i.kind}/${i.severity}`))],
      ['placeholder-plot/warning'],
    );
    assert.equal(ds.issues.length, 28);
    for (const issue of ds.issues) assert.equal(ds.records.find((r) => r.id === issue.id)?.plot, null);
    const robin = ds.records.find((r) => r.id === '0029843');
    assert.equal(robin?.title, 'The Adventures of Robin Hood');
    assert.deepEqual(robin?.genres, ['Action', 'Adventure', 'Romance']);
    assert.equal(robin?.meta.kind, 'movie');
    assert.ok(
      ds.records.every((r) => r.genres.every((g) => (MMIMDB_GENRES as readonly string[]).includes(g))),
    );
  });
});
