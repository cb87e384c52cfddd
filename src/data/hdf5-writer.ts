/**
 * Writing an MM-IMDB HDF5 file in the layout `loadMmimdbHdf5` (./hdf5.ts) reads: for tests, the
 * scale bench, and users converting their own features.
 */
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { File as H5File } from 'h5wasm';
import type { SplitName } from './types.js';
import { h5, splitByPaperRatios, SPLIT_RANGES_ATTRIBUTE } from './hdf5.js';

/** What `writeMmimdbHdf5` writes; rows are in file order and every array has N rows. */
export interface Hdf5WriteData {
  ids: readonly string[];
  labels: readonly string[];
  /** N×L row-major 0/1. */
  genres: Uint8Array;
  /** `features`: N×dim mean word vectors. */
  features?: { dim: number; data: Float32Array };
  /** `vgg_features`: N×dim poster features. */
  vggFeatures?: { dim: number; data: Float32Array };
  /** Token ids in the SequenceFeatures convention (0 padding, 1 unknown); stored as the paper's ids (one less). */
  sequences?: readonly Int32Array[];
  /** `images`: N×C×H×W (the paper's file: [3, 256, 160], int32). */
  images?: { shape: [number, number, number]; data: Uint8Array | Int32Array | Float32Array };
  /** Sizes of the contiguous train/dev/test row ranges (default: the paper's ratios). */
  splitSizes?: Record<SplitName, number>;
  /** Vocabulary size for `sequences` (attribute vocab_size). */
  vocabSize?: number;
}

/**
 * Write the same layout `loadMmimdbHdf5` reads (for tests, and for users converting their own
 * features). Two differences from the paper's h5py file, both because h5wasm cannot write them:
 * `sequences` is a padded N×T int32 matrix (padding -1, attribute `padding`) instead of
 * variable-length rows, and the split is the JSON attribute `split_ranges` instead of Fuel's
 * split array (which holds HDF5 object references). The file appears atomically (temp + rename).
 */
export async function writeMmimdbHdf5(path: string, data: Hdf5WriteData): Promise<void> {
  const h5wasm = await h5();
  const n = data.ids.length;
  const L = data.labels.length;
  if (data.genres.length !== n * L)
    throw new Error(`genres has ${data.genres.length} values, expected ${n}×${L}`);
  const matrixOk = (m: { dim: number; data: Float32Array } | undefined, name: string): void => {
    if (m && m.data.length !== n * m.dim)
      throw new Error(`${name} has ${m.data.length} values, expected ${n}×${m.dim}`);
  };
  matrixOk(data.features, 'features');
  matrixOk(data.vggFeatures, 'vggFeatures');
  if (data.sequences && data.sequences.length !== n)
    throw new Error(`sequences has ${data.sequences.length} rows, expected ${n}`);
  if (data.images) {
    const [c, h, w] = data.images.shape;
    if (data.images.data.length !== n * c * h * w)
      throw new Error(`images has ${data.images.data.length} values, expected ${n}×${c}×${h}×${w}`);
  }
  const sizes = data.splitSizes;
  if (sizes && sizes.train + sizes.dev + sizes.test !== n)
    throw new Error(`splitSizes add up to ${sizes.train + sizes.dev + sizes.test}, expected ${n}`);
  const ranges = sizes
    ? {
        train: [0, sizes.train],
        dev: [sizes.train, sizes.train + sizes.dev],
        test: [sizes.train + sizes.dev, n],
      }
    : splitByPaperRatios(n);

  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const file = new h5wasm.File(tmp, 'w');
  try {
    const genres = file.create_dataset({
      name: 'genres',
      data: Int32Array.from(data.genres),
      shape: [n, L],
      dtype: '<i',
    });
    genres.create_attribute('target_names', JSON.stringify(data.labels));
    const idLength = Math.max(1, ...data.ids.map((s) => Buffer.byteLength(s)));
    file.create_dataset({ name: 'imdb_ids', data: [...data.ids], shape: [n], dtype: `S${idLength}` });
    writeFeatureDatasets(file, n, data);
    if (data.sequences) {
      const T = Math.max(1, ...data.sequences.map((s) => s.length));
      const padded = new Int32Array(n * T).fill(-1);
      data.sequences.forEach((s, i) => {
        for (let k = 0; k < s.length; k++) padded[i * T + k] = s[k] - 1;
      });
      const seq = file.create_dataset({ name: 'sequences', data: padded, shape: [n, T], dtype: '<i' });
      seq.create_attribute('padding', -1, null, '<i');
      if (data.vocabSize !== undefined) seq.create_attribute('vocab_size', data.vocabSize - 1, null, '<i');
    }
    if (data.images) {
      const [c, h, w] = data.images.shape;
      // One chunk per image: reading image(i) then touches only that image.
      file.create_dataset({
        name: 'images',
        data: data.images.data,
        shape: [n, c, h, w],
        chunks: [1, c, h, w],
      });
    }
    file.create_attribute(SPLIT_RANGES_ATTRIBUTE, JSON.stringify(ranges));
    file.close();
    renameSync(tmp, abs);
  } catch (err) {
    try {
      file.close();
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The file's `features` and `vgg_features` datasets (N×dim float32), when given. */
export function writeFeatureDatasets(
  file: H5File,
  n: number,
  data: Pick<Hdf5WriteData, 'features' | 'vggFeatures'>,
): void {
  for (const [name, m] of [
    ['features', data.features],
    ['vgg_features', data.vggFeatures],
  ] as const) {
    if (m) file.create_dataset({ name, data: m.data, shape: [n, m.dim], dtype: '<f' });
  }
}
