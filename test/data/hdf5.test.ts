import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import {
  loadMmimdbHdf5,
  PAPER_HDF5_SPLIT,
  splitByPaperRatios,
  Hdf5LayoutError,
} from '../../src/data/hdf5.js';
import { writeMmimdbHdf5 } from '../../src/data/hdf5-writer.js';
import { loadDataset } from '../../src/data/load.js';
import { MMIMDB_GENRES, multiHot } from '../../src/data/genres.js';
import { tempDir } from '../helpers/shared.js';

/** Written by h5py in the paper's exact layout (see fixtures/make-paper-layout.py for the formulas). */
const PAPER_FIXTURE = join(import.meta.dirname, 'fixtures', 'paper-layout.hdf5');

/** Write an HDF5 file with h5wasm directly, dataset by dataset (for malformed layouts). */
async function writeRaw(path: string, build: (f: InstanceType<typeof h5wasm.File>) => void): Promise<string> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'w');
  build(f);
  f.close();
  return path;
}

function genresFor(n: number, L = 23): Int32Array {
  const g = new Int32Array(n * L);
  for (let i = 0; i < n; i++) g[i * L + (i % L)] = 1;
  return g;
}

test('reads the paper layout written by h5py: ids, genres, Fuel split, features, sequences, images', async () => {
  const ds = await loadMmimdbHdf5(PAPER_FIXTURE);
  try {
    assert.equal(ds.format, 'mmimdb-hdf5');
    assert.deepEqual(ds.labels, [...MMIMDB_GENRES]);
    assert.deepEqual(
      ds.ids,
      Array.from({ length: 8 }, (_, k) => String(1000 + k).padStart(7, '0')),
    );
    // Row 4 has no genre: reported and dropped, the others kept with the Fuel split ranges.
    assert.deepEqual(ds.splits, {
      train: ['0001000', '0001001', '0001002', '0001003'],
      dev: ['0001005'],
      test: ['0001006', '0001007'],
    });
    const noGenre = ds.issues.filter((i) => i.kind === 'no-known-genre');
    assert.equal(noGenre.length, 1);
    assert.match(noGenre[0].message, /row 4/);
    const r2 = ds.records.find((r) => r.id === '0001002')!;
    assert.deepEqual(r2.genres, ['Romance', 'Horror']);
    assert.equal(r2.meta.hdf5Index, 2);
    assert.equal(r2.plot, null);
    assert.equal(r2.posterPath, null);
    assert.deepEqual(
      Array.from(ds.genres.subarray(2 * 23, 3 * 23)),
      Array.from(multiHot(['Romance', 'Horror'], MMIMDB_GENRES)),
    );

    const text = ds.textFeatures();
    assert.equal(text.dim, 300);
    assert.equal(text.ids.length, 8);
    assert.ok(Math.abs(text.data[2 * 300 + 7] - (2 + 7 / 1000)) < 1e-5);
    // Row 3 is NaN in the file (a plot with no known word): marked missing and zeroed.
    assert.deepEqual(Array.from(text.missing), [0, 0, 0, 1, 0, 0, 0, 0]);
    assert.ok(text.data.subarray(3 * 300, 4 * 300).every((v) => v === 0));

    const vgg = ds.visualFeatures();
    assert.equal(vgg.dim, 4096);
    assert.ok(Math.abs(vgg.data[5 * 4096 + 11] - ((5 * 4096 + 11) % 97) / 97) < 1e-6);

    const seq = ds.sequences()!;
    // Paper ids shift by one: its 0 (_UNK_) becomes 1, and 0 stays free for padding.
    assert.deepEqual(Array.from(seq.sequences[0]), [1]);
    assert.deepEqual(Array.from(seq.sequences[3]), [1, 2, 3, 4]);
    assert.equal(seq.vocabSize, 9);

    const img = ds.image(6)!;
    assert.deepEqual(img.shape, [3, 256, 160]);
    assert.ok(img.data instanceof Uint8Array);
    const at = (c: number, y: number, x: number): number => img.data[(c * 256 + y) * 160 + x];
    assert.equal(at(0, 0, 0), 60);
    assert.equal(at(2, 100, 50), (60 + 100 + 100 + 50) % 256);
    assert.throws(() => ds.image(8), RangeError);
  } finally {
    ds.close();
  }
  // After close() the accessors reopen the file.
  assert.equal(ds.image(1)!.data[0], 10);
  const plain = ds.toDataset();
  ds.close();
  assert.equal(typeof (plain as unknown as Record<string, unknown>).image, 'undefined');
  assert.equal(plain.records.length, 7);
});

test('loadDataset detects the HDF5 layout and goes through loadMmimdbHdf5', async () => {
  const ds = await loadDataset(PAPER_FIXTURE);
  assert.equal(ds.format, 'mmimdb-hdf5');
  assert.equal(ds.records.length, 7);
  assert.equal(ds.splits.test.length, 2);
});

test('writeMmimdbHdf5 round-trips every dataset and the split', async () => {
  const n = 10;
  const L = 23;
  const ids = Array.from({ length: n }, (_, i) => `tt${String(i).padStart(7, '0')}`);
  const genres = new Uint8Array(n * L);
  for (let i = 0; i < n; i++) {
    genres[i * L] = 1;
    genres[i * L + ((i * 3) % L)] = 1;
  }
  const features = Float32Array.from({ length: n * 300 }, (_, k) => Math.sin(k));
  const vgg = Float32Array.from({ length: n * 64 }, (_, k) => k / 7);
  const sequences = ids.map((_, i) => Int32Array.from({ length: i + 1 }, (_, k) => 1 + ((k * 5 + i) % 40)));
  const shape: [number, number, number] = [3, 32, 20];
  const images = Uint8Array.from({ length: n * 3 * 32 * 20 }, (_, k) => (k * 31) % 256);
  const path = join(tempDir(), 'sub', 'out.hdf5');
  await writeMmimdbHdf5(path, {
    ids,
    labels: MMIMDB_GENRES,
    genres,
    features: { dim: 300, data: features },
    vggFeatures: { dim: 64, data: vgg },
    sequences,
    images: { shape, data: images },
    splitSizes: { train: 6, dev: 1, test: 3 },
    vocabSize: 41,
  });
  const ds = await loadMmimdbHdf5(path);
  try {
    assert.deepEqual(ds.ids, ids);
    assert.deepEqual(Array.from(ds.genres), Array.from(genres));
    assert.deepEqual(ds.issues, []);
    assert.deepEqual(ds.splits.train, ids.slice(0, 6));
    assert.deepEqual(ds.splits.dev, ids.slice(6, 7));
    assert.deepEqual(ds.splits.test, ids.slice(7));
    assert.deepEqual(Array.from(ds.textFeatures().data), Array.from(features));
    const v = ds.visualFeatures();
    assert.equal(v.dim, 64);
    assert.deepEqual(Array.from(v.data), Array.from(vgg));
    const seq = ds.sequences()!;
    assert.deepEqual(
      seq.sequences.map((s) => Array.from(s)),
      sequences.map((s) => Array.from(s)),
    );
    assert.equal(seq.vocabSize, 41);
    const img = ds.image(4)!;
    assert.deepEqual(img.shape, shape);
    assert.deepEqual(Array.from(img.data), Array.from(images.subarray(4 * 1920, 5 * 1920)));
  } finally {
    ds.close();
  }
  // Written through a temp file: nothing else is left beside it.
  assert.deepEqual(readdirSync(join(path, '..')), ['out.hdf5']);
});

test('without a split attribute, the paper ranges apply to 25,959 rows and its ratios to other sizes', async () => {
  const dir = tempDir();
  const make = (n: number, name: string): Promise<string> =>
    writeRaw(join(dir, name), (f) => {
      const g = f.create_dataset({ name: 'genres', data: genresFor(n), shape: [n, 23], dtype: '<i' });
      g.create_attribute('target_names', JSON.stringify(MMIMDB_GENRES));
      f.create_dataset({
        name: 'imdb_ids',
        data: Array.from({ length: n }, (_, i) => String(i).padStart(7, '0')),
        dtype: 'S7',
      });
    });
  const full = await loadMmimdbHdf5(await make(25959, 'full.hdf5'));
  full.close();
  assert.equal(full.splits.train.length, PAPER_HDF5_SPLIT.train[1]);
  assert.equal(full.splits.dev.length, 18160 - 15552);
  assert.equal(full.splits.test.length, 25959 - 18160);
  assert.equal(full.splits.dev[0], '0015552');
  assert.deepEqual(full.issues, []);

  const small = await loadMmimdbHdf5(await make(100, 'small.hdf5'));
  small.close();
  assert.deepEqual(splitByPaperRatios(100), { train: [0, 60], dev: [60, 70], test: [70, 100] });
  assert.equal(small.splits.train.length, 60);
  assert.equal(small.splits.test.length, 30);
  assert.match(small.issues[0].message, /paper's ratios/);
  assert.equal(small.sequences(), null);
  assert.equal(small.image(0), null);
  await assert.rejects(async () => small.textFeatures(), /dataset 'features' is missing/);
  small.close();
});

test('malformed files fail with an error naming the dataset', async () => {
  const dir = tempDir();
  const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `id${i}`);

  const noGenres = await writeRaw(join(dir, 'no-genres.hdf5'), (f) => {
    f.create_dataset({ name: 'imdb_ids', data: ids(3), dtype: 'S3' });
  });
  await assert.rejects(
    loadMmimdbHdf5(noGenres),
    (err: Error) => err instanceof Hdf5LayoutError && /dataset 'genres' is missing/.test(err.message),
  );

  const wrongNames = await writeRaw(join(dir, 'names.hdf5'), (f) => {
    const g = f.create_dataset({ name: 'genres', data: genresFor(3), shape: [3, 23], dtype: '<i' });
    g.create_attribute('target_names', JSON.stringify(MMIMDB_GENRES.slice(0, 22)));
    f.create_dataset({ name: 'imdb_ids', data: ids(3), dtype: 'S3' });
  });
  await assert.rejects(
    loadMmimdbHdf5(wrongNames),
    /'genres' has 23 columns but its attribute target_names lists 22 names/,
  );

  const shortIds = await writeRaw(join(dir, 'ids.hdf5'), (f) => {
    const g = f.create_dataset({ name: 'genres', data: genresFor(3), shape: [3, 23], dtype: '<i' });
    g.create_attribute('target_names', JSON.stringify(MMIMDB_GENRES));
    f.create_dataset({ name: 'imdb_ids', data: ids(2), dtype: 'S3' });
  });
  await assert.rejects(loadMmimdbHdf5(shortIds), /dataset 'imdb_ids' has shape \[2\], expected \[3\]/);

  const badSplit = await writeRaw(join(dir, 'split.hdf5'), (f) => {
    const g = f.create_dataset({ name: 'genres', data: genresFor(3), shape: [3, 23], dtype: '<i' });
    g.create_attribute('target_names', JSON.stringify(MMIMDB_GENRES));
    f.create_dataset({ name: 'imdb_ids', data: ids(3), dtype: 'S3' });
    f.create_attribute('split_ranges', JSON.stringify({ train: [0, 2], dev: [2, 3], test: [3, 9] }));
  });
  await assert.rejects(loadMmimdbHdf5(badSplit), /test rows \[3, 9\) outside the 3 rows/);

  // A broken optional dataset does not block the rest: it is an issue, and its accessor throws.
  const badVgg = await writeRaw(join(dir, 'vgg.hdf5'), (f) => {
    const g = f.create_dataset({ name: 'genres', data: genresFor(3), shape: [3, 23], dtype: '<i' });
    g.create_attribute('target_names', JSON.stringify(MMIMDB_GENRES));
    f.create_dataset({ name: 'imdb_ids', data: ids(3), dtype: 'S3' });
    f.create_dataset({
      name: 'features',
      data: new Float32Array(3 * 4).fill(0.5),
      shape: [3, 4],
      dtype: '<f',
    });
    f.create_dataset({ name: 'vgg_features', data: new Float32Array(2 * 8), shape: [2, 8], dtype: '<f' });
    f.create_dataset({ name: 'images', data: new Uint8Array(3 * 1 * 4 * 4), shape: [3, 1, 4, 4] });
  });
  const ds = await loadMmimdbHdf5(badVgg);
  try {
    assert.equal(ds.records.length, 3);
    assert.equal(ds.textFeatures().data[5], 0.5);
    assert.throws(() => ds.visualFeatures(), /dataset 'vgg_features' has shape \[2, 8\], expected \[3, D\]/);
    assert.throws(() => ds.image(0), /dataset 'images' has shape \[3, 1, 4, 4\], expected \[3, 3, H, W\]/);
    const kinds = ds.issues.map((i) => i.message);
    assert.ok(kinds.some((m) => m.includes("'vgg_features'")));
    assert.ok(kinds.some((m) => m.includes("'images'")));
  } finally {
    ds.close();
  }

  const notHdf5 = join(dir, 'fake.hdf5');
  writeFileSync(notHdf5, 'this is not HDF5\n');
  await assert.rejects(loadMmimdbHdf5(notHdf5), /not a readable HDF5 file/);
  await assert.rejects(loadMmimdbHdf5(join(dir, 'absent.hdf5')), /no such file/);
});

test('writeMmimdbHdf5 rejects inconsistent input and leaves no file', async () => {
  const path = join(tempDir(), 'bad.hdf5');
  await assert.rejects(
    writeMmimdbHdf5(path, { ids: ['a', 'b'], labels: MMIMDB_GENRES, genres: new Uint8Array(23) }),
    /genres has 23 values, expected 2×23/,
  );
  await assert.rejects(
    writeMmimdbHdf5(path, {
      ids: ['a', 'b'],
      labels: MMIMDB_GENRES,
      genres: new Uint8Array(46),
      splitSizes: { train: 1, dev: 1, test: 1 },
    }),
    /splitSizes add up to 3, expected 2/,
  );
  assert.equal(existsSync(path), false);
});
