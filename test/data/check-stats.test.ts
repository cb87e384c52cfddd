import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDataset, formatCheckReport, type CheckReport } from '../../src/data/check.js';
import { loadDataset } from '../../src/data/load.js';
import { datasetStats, distribution, formatStats, plotWordCount } from '../../src/data/stats.js';
import { MMIMDB_SAMPLE, TMDB_SAMPLE, runCli, skipUnless, tempDir } from '../helpers/shared.js';
import { makeBadMmimdb, makeBadTmdb } from './bad-fixtures.js';

describe('checkDataset on the bad MM-IMDB folder', () => {
  let report: CheckReport;
  before(async () => {
    report = await checkDataset(await makeBadMmimdb());
  });

  test('counts valid movies per split and genre, decodes posters, summarises issues by kind', () => {
    assert.equal(report.valid, 13);
    assert.deepEqual(report.perSplit, { train: 6, dev: 3, test: 4 });
    assert.equal(report.postersVerified, true);
    assert.equal(report.withPoster, 10); // 13 minus the truncated, the missing and the not-an-image poster
    const drama = report.perGenre.find((g) => g.genre === 'Drama');
    assert.deepEqual(drama, { genre: 'Drama', total: 12, train: 6, dev: 2, test: 4 });
    const kinds = Object.fromEntries(report.issues.map((i) => [i.kind, i.count]));
    assert.deepEqual(kinds, {
      'corrupt-poster': 2,
      'duplicate-id': 1,
      'empty-plot': 2,
      'file-not-in-split': 1,
      'invalid-json': 1,
      'missing-plot': 1,
      'missing-poster': 2,
      'no-known-genre': 1,
      'no-usable-input': 1,
      'poster-format-mismatch': 2,
      'split-id-without-file': 1,
      'unknown-genre': 1,
    });
    const text = formatCheckReport(report);
    assert.match(text, /valid movies\s+13/);
    assert.match(text, /split \(train \/ dev \/ test\)\s+6 \/ 3 \/ 4/);
    assert.match(
      text,
      /corrupt-poster \(2\), e\.g\.:\n .*2000001\.jpeg \[2000001\]: poster cannot be decoded/,
    );
  });
});

test('stats helpers: word counts without the IMDb author, numpy-style quantiles', () => {
  assert.equal(plotWordCount('A man walks. He runs.::John Doe <jd@example.com>'), 5);
  assert.equal(plotWordCount('  one two\nthree  '), 3);
  assert.equal(plotWordCount('::Only Author'), 0);
  const d = distribution([1, 2, 3, 4, 10]);
  assert.deepEqual([d.count, d.mean, d.min, d.median, d.max], [5, 4, 1, 3, 10]);
  assert.ok(Math.abs(d.p95 - 8.8) < 1e-9); // numpy.percentile([1,2,3,4,10], 95) == 8.8
  assert.ok(Number.isNaN(distribution([]).mean));
});

test('datasetStats on the bad TMDB folder reads real poster sizes', async () => {
  const ds = await loadDataset(await makeBadTmdb());
  const s = await datasetStats(ds);
  assert.equal(s.movies, 8);
  // posters kept without decoding: good2/4/8/15 (50x75), png13 (40x60), cut14 (120x180 header)
  assert.equal(s.posters.read, 6);
  assert.deepEqual(s.posters.commonSizes[0], { width: 50, height: 75, count: 4 });
  assert.equal(s.posters.width.min, 40);
  assert.equal(s.posters.height.max, 180);
  const cardinality = ds.records.reduce((a, r) => a + r.genres.length, 0) / ds.records.length;
  assert.ok(Math.abs(s.labelCardinality.all - cardinality) < 1e-12);
  assert.equal(s.plotWords.count, 7);
  assert.match(formatStats(s), /poster width \(px\)\s+6/);
});

describe('CLI: data check and data stats', () => {
  test('a path that is no dataset exits 2 with a message, no stack', () => {
    const r = runCli(['data', 'check', tempDir()]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a dataset: expected an MM-IMDB folder/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });

  test(
    'data check on the MM-IMDB sample: 1,645 valid, 967 / 174 / 504',
    { skip: skipUnless(MMIMDB_SAMPLE) },
    () => {
      const r = runCli(['data', 'check', MMIMDB_SAMPLE, '--json', '--no-verify-posters']);
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout) as CheckReport;
      assert.equal(report.valid, 1645);
      assert.deepEqual(report.perSplit, { train: 967, dev: 174, test: 504 });
      assert.equal(report.postersVerified, false);
      assert.equal(report.perGenre.find((g) => g.genre === 'Film-Noir')?.total, 1);
      assert.equal(report.perGenre.reduce((a, g) => a + g.total, 0) > 1645, true);
      // "N/A" plots are placeholders: warnings naming the movies, which keep their posters.
      const placeholder = report.issues.find((i) => i.kind === 'placeholder-plot');
      assert.equal(placeholder?.severity, 'warning');
      assert.equal(placeholder?.count, 28);
      assert.match(placeholder!.examples[0].message, /placeholder \('N\/A'\)/);
      assert.ok(placeholder!.examples[0].id);
      assert.equal(report.withPlot, 1645 - 28);
      const text = runCli(['data', 'check', MMIMDB_SAMPLE, '--no-verify-posters']);
      assert.match(text.stdout, /placeholder-plot\s+warning\s+28/);
    },
  );

  test(
    'data check on the TMDB sample: rows, usable rows, posters found, problems',
    { skip: skipUnless(TMDB_SAMPLE) },
    () => {
      const r = runCli(['data', 'check', TMDB_SAMPLE]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^rows\s+2996$/m);
      assert.match(r.stdout, /^usable rows\s+\d{4}$/m);
      assert.match(r.stdout, /^posters found\s+535 \(all decoded\)$/m);
      assert.match(r.stdout, /^duplicate-id\s+warning\s+1$/m);
      assert.match(r.stdout, /^no-known-genre\s+error\s+73$/m);
    },
  );

  test('data stats --json on the MM-IMDB sample', { skip: skipUnless(MMIMDB_SAMPLE) }, () => {
    const r = runCli(['data', 'stats', MMIMDB_SAMPLE, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Awaited<ReturnType<typeof datasetStats>>;
    assert.equal(s.movies, 1645);
    assert.equal(s.posters.read, 1645);
    assert.ok(s.labelCardinality.all > 1 && s.labelCardinality.all < 5);
    assert.ok(s.plotWords.median > 20);
    assert.ok(s.posters.width.median > 100);
  });
});
