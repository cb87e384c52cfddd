import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { loadDataset } from '../../src/data/load.js';
import type { Dataset, MovieRecord } from '../../src/data/types.js';
import {
  extractFeaturesWithReport,
  FeaturesNotCachedError,
  loadFeatures,
} from '../../src/features/extract.js';
import { resolveEncoder } from '../../src/features/registry.js';
import { acquireLock, CorruptCacheError, readManifest } from '../../src/features/store.js';
import { MMIMDB_SAMPLE, runCli, skipUnless, tempDir } from '../helpers/shared.js';
import { IMAGE_STATS, sampleSplits, sampleSubsetDir, TEXT_HASH } from './fixtures.js';

const skip = skipUnless(MMIMDB_SAMPLE);
const CHUNK = 8;

function matrixBytes(dir: string): Buffer {
  const f = readdirSync(dir).find((n) => n.startsWith('matrix.'));
  assert.ok(f, `no matrix file in ${dir}`);
  return readFileSync(join(dir, f));
}

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('feature cache on real sample movies', { skip }, () => {
  let dataset: Dataset;
  let reference: { dir: string; bytes: Buffer; data: Float32Array };

  before(async () => {
    const dir = sampleSubsetDir(MMIMDB_SAMPLE, sampleSplits(MMIMDB_SAMPLE, { train: 40, dev: 8 }), tempDir());
    dataset = await loadDataset(dir);
    assert.equal(dataset.records.length, 48);
    const cacheDir = tempDir();
    const r = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      workers: 0,
      chunkRows: CHUNK,
      progress: false,
    });
    reference = { dir: r.report.dir, bytes: matrixBytes(r.report.dir), data: r.features.data };
  });

  test('worker threads give the same bytes as the calling thread; a second run is a no-op', async () => {
    const cacheDir = tempDir();
    const first = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      workers: 2,
      chunkRows: CHUNK,
      progress: false,
    });
    assert.equal(first.report.workers, 2);
    assert.equal(first.report.computedRows, 48);
    assert.ok(matrixBytes(first.report.dir).equals(reference.bytes));
    assert.equal(first.features.dim, 54);
    assert.equal(
      first.features.missing.reduce((a, b) => a + b, 0),
      0,
    );
    // Real, distinct rows: the first two posters do not give the same statistics.
    assert.notDeepEqual(first.features.data.subarray(0, 54), first.features.data.subarray(54, 108));

    const again = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      workers: 2,
      progress: false,
    });
    assert.equal(again.report.noop, true);
    assert.equal(again.report.computedRows, 0);
    assert.deepEqual(again.features.data, first.features.data);

    const loaded = await loadFeatures(dataset, IMAGE_STATS, { cacheDir });
    assert.deepEqual(
      loaded.ids,
      dataset.records.map((r) => r.id),
    );
    assert.deepEqual(loaded.data, reference.data);

    const m = readManifest(first.report.dir)!;
    assert.equal(m.complete, true);
    assert.equal(existsSync(join(first.report.dir, 'chunks')), false, 'chunks are removed once assembled');
    const r0 = dataset.records[0];
    assert.equal(
      m.sources[r0.id].sha256,
      sha(r0.posterPath!),
      'the manifest records each poster’s content hash',
    );
    assert.equal(m.chunks.length, 6);
  });

  test('a bad or absent poster becomes a missing flag with its message, not a zero row passed off as data', async () => {
    const tmp = tempDir();
    const garbage = join(tmp, 'broken.jpeg');
    writeFileSync(garbage, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 7)]));
    const records: MovieRecord[] = [
      ...dataset.records.slice(0, 3),
      { ...dataset.records[3], id: 'broken', posterPath: garbage },
      { ...dataset.records[4], id: 'no-poster', posterPath: null },
    ];
    const ds: Dataset = {
      ...dataset,
      root: tmp,
      records,
      splits: { train: records.map((r) => r.id), dev: [], test: [] },
    };
    for (const workers of [0, 2]) {
      const { features, report } = await extractFeaturesWithReport(ds, IMAGE_STATS, {
        cacheDir: tempDir(),
        workers,
        progress: false,
      });
      assert.deepEqual([...features.missing], [0, 0, 0, 1, 1]);
      assert.equal(report.missing, 2);
      const m = readManifest(report.dir)!;
      assert.match(m.missing.broken, /cannot decode poster .*broken\.jpeg/);
      assert.equal(m.missing['no-poster'], 'no poster');
      assert.ok(features.data.subarray(3 * 54, 5 * 54).every((v) => v === 0));
      assert.deepEqual(features.data.subarray(0, 3 * 54), reference.data.subarray(0, 3 * 54));
    }
  });

  test('loading features that were never extracted names the command that computes them', async () => {
    const cacheDir = tempDir();
    await assert.rejects(
      loadFeatures(dataset, { name: IMAGE_STATS, options: { size: 2 } }, { cacheDir }),
      (err: Error) => {
        assert.ok(err instanceof FeaturesNotCachedError);
        assert.match(err.message, /not cached/);
        assert.match(
          err.message,
          /mmgenre features extract --data \S+ --encoder test-image-stats --opt size=2 --cache/,
        );
        return true;
      },
    );
  });

  test('an interrupted run resumes; corrupted, truncated and stray files are detected and recomputed', async () => {
    const cacheDir = tempDir();
    const controller = new AbortController();
    await assert.rejects(
      extractFeaturesWithReport(dataset, IMAGE_STATS, {
        cacheDir,
        workers: 0,
        chunkRows: CHUNK,
        progress: false,
        signal: controller.signal,
        onProgress: (done) => {
          if (done >= 4 * CHUNK) controller.abort();
        },
      }),
      /abort/i,
    );
    const dir = reference.dir.replace(/^.*\/features\//, join(cacheDir, 'features') + '/');
    const chunks = join(dir, 'chunks');
    assert.deepEqual(
      readdirSync(chunks).filter((f) => f.endsWith('.json')),
      ['000000.json', '000001.json', '000002.json', '000003.json'],
    );
    await assert.rejects(loadFeatures(dataset, IMAGE_STATS, { cacheDir }), /only partly computed/);
    // Damage: flip a byte in chunk 0, cut chunk 1 short, leave a half-written temp file beside chunk 2.
    const c0 = readFileSync(join(chunks, '000000.bin'));
    c0[100] ^= 0xff;
    writeFileSync(join(chunks, '000000.bin'), c0);
    truncateSync(join(chunks, '000001.bin'), 50);
    writeFileSync(join(chunks, '000004.bin.123.abcd.tmp'), Buffer.alloc(10));

    const resumed = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      workers: 2,
      progress: false,
    });
    assert.equal(resumed.report.reusedRows, 2 * CHUNK, 'only chunks 2 and 3 were good');
    assert.equal(resumed.report.computedRows, 4 * CHUNK);
    assert.ok(matrixBytes(dir).equals(reference.bytes), 'resumed result is byte-identical');
    assert.equal(existsSync(chunks), false);
  });

  test('a damaged finished matrix is refused on load and repaired by recomputing only its chunk', async () => {
    const cacheDir = tempDir();
    const { report } = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      workers: 0,
      chunkRows: CHUNK,
      progress: false,
    });
    const file = join(report.dir, 'matrix.f32');
    const bytes = readFileSync(file);
    bytes[3 * CHUNK * 54 * 4 + 17] ^= 0x55; // inside chunk 3
    writeFileSync(file, bytes);
    await assert.rejects(loadFeatures(dataset, IMAGE_STATS, { cacheDir }), (err: Error) => {
      assert.ok(err instanceof CorruptCacheError);
      assert.match(err.message, /chunk\(s\) 3 fail/);
      return true;
    });
    const repaired = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      workers: 0,
      progress: false,
    });
    assert.equal(repaired.report.computedRows, CHUNK);
    assert.ok(readFileSync(file).equals(reference.bytes));

    truncateSync(file, 1000);
    await assert.rejects(loadFeatures(dataset, IMAGE_STATS, { cacheDir }), /has 1000 bytes/);
  });

  test('a replaced poster makes its chunk stale: load refuses, extract recomputes that chunk only', async () => {
    const tmp = tempDir();
    const records = dataset.records.slice(0, 24).map((r) => {
      const p = join(tmp, `${r.id}.jpeg`);
      copyFileSync(r.posterPath!, p);
      return { ...r, posterPath: p };
    });
    const ds: Dataset = {
      ...dataset,
      root: tmp,
      records,
      splits: { train: records.map((r) => r.id), dev: [], test: [] },
    };
    const cacheDir = tempDir();
    await extractFeaturesWithReport(ds, IMAGE_STATS, {
      cacheDir,
      workers: 0,
      chunkRows: CHUNK,
      progress: false,
    });
    copyFileSync(records[2].posterPath!, records[10].posterPath!); // row 10 (chunk 1) now shows poster 2
    const later = new Date(Date.now() + 5000);
    utimesSync(records[10].posterPath!, later, later);
    await assert.rejects(
      loadFeatures(ds, IMAGE_STATS, { cacheDir }),
      /out of date \(inputs changed in 1 chunk/,
    );
    const { features, report } = await extractFeaturesWithReport(ds, IMAGE_STATS, {
      cacheDir,
      workers: 0,
      progress: false,
    });
    assert.equal(report.computedRows, CHUNK);
    assert.equal(report.reusedRows, 16);
    assert.deepEqual(features.data.subarray(10 * 54, 11 * 54), features.data.subarray(2 * 54, 3 * 54));
    const m = readManifest(report.dir)!;
    assert.equal(m.sources[records[10].id].sha256, sha(records[2].posterPath!));
  });

  test('float16 entries take half the bytes and keep float16 precision', async () => {
    const cacheDir = tempDir();
    const { features, report } = await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir,
      dtype: 'float16',
      workers: 0,
      progress: false,
    });
    assert.equal(report.dtype, 'float16');
    assert.equal(readFileSync(join(report.dir, 'matrix.f16')).length, reference.bytes.length / 2);
    features.data.forEach((v, i) => assert.ok(Math.abs(v - reference.data[i]) <= 2 ** -11, `value ${i}`));
    const loaded = await loadFeatures(dataset, IMAGE_STATS, { cacheDir, dtype: 'float16' });
    assert.deepEqual(loaded.data, features.data);
    await assert.rejects(
      loadFeatures(dataset, IMAGE_STATS, { cacheDir }),
      /--encoder test-image-stats --cache/,
    );
  });

  test('text encoders are cached the same way, keyed by their own inputs', async () => {
    const cacheDir = tempDir();
    const a = await extractFeaturesWithReport(dataset, TEXT_HASH, { cacheDir, workers: 2, progress: false });
    assert.equal(a.features.dim, 64);
    const m = readManifest(a.report.dir)!;
    assert.equal(m.encoder.modality, 'plot');
    assert.equal(
      m.sources[dataset.records[0].id].sha256,
      createHash('sha256').update(dataset.records[0].plot!).digest('hex'),
    );
    const b = await extractFeaturesWithReport(dataset, TEXT_HASH, { cacheDir, workers: 0, progress: false });
    assert.equal(b.report.noop, true);
  });

  test('features list shows what is cached', async () => {
    const cacheDir = tempDir();
    await extractFeaturesWithReport(dataset, IMAGE_STATS, { cacheDir, workers: 0, progress: false });
    const r = runCli(['features', 'list', '--cache', cacheDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /mmimdb .*test-image-stats\s+-\s+48\s+54\s+float32\s+0\s+complete\s+\d/);
    assert.match(r.stdout, /1 entry/);
    const empty = runCli(['features', 'list', '--cache', tempDir()]);
    assert.match(empty.stdout, /no features cached/);
  });
});

test('an unknown encoder is refused with the list of known ones', async () => {
  await assert.rejects(
    resolveEncoder('no-such-encoder'),
    /unknown encoder 'no-such-encoder'; known encoders: .*glove-mean.*mobilenet_v2/,
  );
});

test('a lock held by a live process is waited for; one left by a killed process is taken over', async () => {
  const dir = tempDir();
  const release = await acquireLock(dir);
  const child = spawnSync(process.execPath, ['-e', 'process.exit(0)']);
  assert.equal(child.status, 0);
  release();
  // A live holder (this test's parent process): waited for, and refused once the wait is over.
  writeFileSync(join(dir, 'lock'), `${process.ppid}:0`);
  let waitedFor = '';
  await assert.rejects(
    acquireLock(dir, { waitMs: 300, onWait: (h) => (waitedFor = h) }),
    /another process \(pid \d+\) holds .*lock/,
  );
  assert.equal(waitedFor, `another process (pid ${process.ppid})`);
  // Released while we wait: we get it.
  const pending = acquireLock(dir, { waitMs: 5000 });
  setTimeout(() => rmSync(join(dir, 'lock')), 300);
  (await pending)();
  // A dead holder: the pid of the child that has exited.
  writeFileSync(join(dir, 'lock'), `${child.pid}:0`);
  const again = await acquireLock(dir, { waitMs: 0 });
  assert.equal((JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')) as { pid: number }).pid, process.pid);
  again();
  assert.equal(existsSync(join(dir, 'lock')), false);
});

test('concurrent extractions of the same features in one process share the work', { skip }, async () => {
  const dir = sampleSubsetDir(MMIMDB_SAMPLE, sampleSplits(MMIMDB_SAMPLE, { train: 12 }), tempDir());
  const dataset = await loadDataset(dir);
  const cacheDir = tempDir();
  const opts = { cacheDir, workers: 0, chunkRows: 4, progress: false };
  const [a, b] = await Promise.all([
    extractFeaturesWithReport(dataset, IMAGE_STATS, opts),
    extractFeaturesWithReport(dataset, IMAGE_STATS, opts),
  ]);
  assert.deepEqual(a.features.data, b.features.data);
  assert.equal(
    a.report.computedRows + b.report.computedRows,
    12,
    'one computed, the other waited and reused',
  );
});
