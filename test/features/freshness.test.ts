/**
 * Freshness of cached features ('stat' vs 'content') and the report of cached chunks that had to
 * be computed again, on real sample posters copied to a temp folder (they are altered here).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/load.js';
import type { Dataset } from '../../src/data/types.js';
import { extractFeaturesWithReport, loadFeatures } from '../../src/features/extract.js';
import { formatExtractReport } from '../../src/features/summary.js';
import { MMIMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';
import { IMAGE_STATS, sampleSplits, sampleSubsetDir } from './fixtures.js';

const CHUNK = 4;
const DIM = 54;

/** 12 real movies whose posters are copies in a temp folder of their own. */
async function copiedDataset(): Promise<Dataset> {
  const sample = await loadDataset(
    sampleSubsetDir(MMIMDB_SAMPLE, sampleSplits(MMIMDB_SAMPLE, { train: 12 }), tempDir()),
  );
  const tmp = tempDir();
  const records = sample.records.map((r) => {
    const p = join(tmp, `${r.id}.jpeg`);
    copyFileSync(r.posterPath!, p);
    return { ...r, posterPath: p };
  });
  return { ...sample, root: tmp, records, splits: { train: records.map((r) => r.id), dev: [], test: [] } };
}

const rowOf = (data: Float32Array, i: number): Float32Array => data.subarray(i * DIM, (i + 1) * DIM);

describe(
  'cached features: freshness modes and recomputed chunks',
  { skip: skipUnless(MMIMDB_SAMPLE) },
  () => {
    let ds: Dataset;
    before(async () => {
      ds = await copiedDataset();
    });
    const opts = (cacheDir: string, extra: Record<string, unknown> = {}) => ({
      cacheDir,
      workers: 0,
      chunkRows: CHUNK,
      progress: false,
      ...extra,
    });

    test('a poster replaced by other bytes of the same size and mtime: stat misses it, content recomputes it', async () => {
      const cacheDir = tempDir();
      const first = await extractFeaturesWithReport(ds, IMAGE_STATS, opts(cacheDir));
      assert.equal(first.report.freshness, 'stat', 'stat is the default');
      assert.equal(first.report.recomputed.chunks, 0, 'first-time chunks are not "recomputed"');

      // A row of chunk 1 gets the image of a smaller poster of chunk 0, padded to its own size,
      // with its own mtime set back.
      const size = (i: number): number => statSync(ds.records[i].posterPath!).size;
      const pairs = [4, 5, 6, 7].flatMap((t) =>
        [0, 1, 2, 3].filter((s) => size(s) < size(t)).map((s) => [s, t]),
      );
      assert.ok(pairs.length > 0, 'some poster of chunk 0 is smaller than one of chunk 1');
      const [src, t] = pairs[0];
      const target = ds.records[t].posterPath!;
      const before = statSync(target);
      const other = readFileSync(ds.records[src].posterPath!);
      writeFileSync(target, Buffer.concat([other, Buffer.alloc(before.size - other.length)]));
      utimesSync(target, before.atimeMs / 1000, before.mtimeMs / 1000);
      const after = statSync(target);
      assert.equal(after.size, before.size);
      assert.equal(Math.round(after.mtimeMs), Math.round(before.mtimeMs), 'same mtime (to the ms)');

      // 'stat' (the default): the documented limit, the old row is kept as current.
      const stat = await extractFeaturesWithReport(ds, IMAGE_STATS, opts(cacheDir));
      assert.equal(stat.report.noop, true);
      assert.deepEqual(rowOf(stat.features.data, t), rowOf(first.features.data, t));
      await loadFeatures(ds, IMAGE_STATS, { cacheDir, freshness: 'stat' });

      // 'content': loading refuses, extraction recomputes that chunk only and says why.
      await assert.rejects(
        loadFeatures(ds, IMAGE_STATS, { cacheDir, freshness: 'content' }),
        /out of date \(inputs changed in 1 chunk/,
      );
      const content = await extractFeaturesWithReport(
        ds,
        IMAGE_STATS,
        opts(cacheDir, { freshness: 'content' }),
      );
      assert.equal(content.report.freshness, 'content');
      assert.equal(content.report.computedRows, CHUNK);
      assert.deepEqual(content.report.recomputed, {
        chunks: 1,
        rows: CHUNK,
        reasons: [{ reason: 'stale-content', chunks: 1, rows: CHUNK }],
      });
      assert.deepEqual(
        rowOf(content.features.data, t),
        rowOf(first.features.data, src),
        'the row shows the new image',
      );
      assert.notDeepEqual(rowOf(content.features.data, t), rowOf(first.features.data, t));
      const again = await extractFeaturesWithReport(
        ds,
        IMAGE_STATS,
        opts(cacheDir, { freshness: 'content' }),
      );
      assert.equal(again.report.noop, true, 'content mode reuses what it has just checked');
      await loadFeatures(ds, IMAGE_STATS, { cacheDir, freshness: 'content' });
    });

    test('recomputed chunks are reported with their reason: damaged bytes, changed inputs, a lost matrix', async () => {
      const cacheDir = tempDir();
      const { report } = await extractFeaturesWithReport(ds, IMAGE_STATS, opts(cacheDir));
      const matrix = join(report.dir, 'matrix.f32');
      const bytes = readFileSync(matrix);
      bytes[2 * CHUNK * DIM * 4 + 9] ^= 0x40; // inside chunk 2
      writeFileSync(matrix, bytes);
      const later = new Date(Date.now() + 60_000);
      utimesSync(ds.records[1].posterPath!, later, later); // chunk 0: same bytes, new mtime

      const repaired = await extractFeaturesWithReport(ds, IMAGE_STATS, opts(cacheDir));
      assert.equal(repaired.report.computedRows, 2 * CHUNK);
      assert.deepEqual(repaired.report.recomputed, {
        chunks: 2,
        rows: 2 * CHUNK,
        reasons: [
          { reason: 'stale-source', chunks: 1, rows: CHUNK },
          { reason: 'checksum', chunks: 1, rows: CHUNK },
        ],
      });
      const text = formatExtractReport(repaired.report, ds.name);
      assert.match(
        text,
        /^recomputed 2 cached chunks \(8 rows\): 1 × inputs changed \(poster size or mtime, or the text\); 1 × cached bytes failed their checksum$/m,
      );

      rmSync(matrix);
      const rebuilt = await extractFeaturesWithReport(ds, IMAGE_STATS, opts(cacheDir));
      assert.deepEqual(rebuilt.report.recomputed.reasons, [{ reason: 'missing-file', chunks: 3, rows: 12 }]);
      assert.deepEqual(rebuilt.features.data, repaired.features.data);
      assert.doesNotMatch(
        formatExtractReport(
          (await extractFeaturesWithReport(ds, IMAGE_STATS, opts(cacheDir))).report,
          ds.name,
        ),
        /recomputed/,
        'nothing is said when nothing was recomputed',
      );
    });

    test('an unknown freshness mode is refused with the modes there are', async () => {
      await assert.rejects(
        extractFeaturesWithReport(ds, IMAGE_STATS, opts(tempDir(), { freshness: 'mtime' })),
        /feature freshness must be stat or content, got 'mtime'/,
      );
    });
  },
);
