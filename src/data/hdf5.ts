/**
 * MM-IMDB in the HDF5 layout of the paper's code (`multimodal_imdb.hdf5`, written by
 * make_dataset.py of johnarevalo/gmu-mmimdb with h5py + Fuel): datasets `features` (N×300 mean
 * word2vec), `vgg_features` (N×4096), `genres` (N×L int, attribute `target_names` = JSON list),
 * `imdb_ids` (fixed-length strings), `sequences` (variable-length int32 token ids) and `images`
 * (N×3×256×160 int32); the split is the root attribute `split` (Fuel's split array of
 * (split, source, start, stop, ...) rows): train 0–15552, dev 15552–18160, test 18160–25959.
 *
 * Read with h5wasm (the HDF5 C library compiled to wasm; its Node build reads the file in place),
 * lazily and by slices: the real file is ~8 GB, so `images` is only ever read one row at a time
 * and feature matrices in blocks of rows.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset as H5Dataset, File as H5File, Metadata } from 'h5wasm';
import type { Dataset, MovieRecord, RecordIssue, SplitName } from './types.js';
import { SPLITS } from './types.js';
import { MMIMDB_GENRES } from './genres.js';
import type { FeatureMatrix, SequenceFeatures } from './feature-types.js';
import { progress } from '../util/progress.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

/** The paper's split of the 25,959 movies, as contiguous row ranges [start, stop). */
export const PAPER_HDF5_SPLIT: Record<SplitName, [number, number]> = {
  train: [0, 15552],
  dev: [15552, 18160],
  test: [18160, 25959],
};
const PAPER_ROWS = 25959;

/** Root attribute this module writes (and reads) for the split: JSON `{"train":[0,a],"dev":[a,b],"test":[b,N]}`. */
export const SPLIT_RANGES_ATTRIBUTE = 'split_ranges';

/** A file that is not in the MM-IMDB HDF5 layout (the message names the dataset at fault). */
export class Hdf5LayoutError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}

export interface Hdf5Image {
  /** C×H×W row-major: Uint8Array for integer pixel data (0–255), Float32Array for float data. */
  data: Uint8Array | Float32Array;
  /** [channels, height, width]: [3, 256, 160] in the paper's file. */
  shape: [number, number, number];
}

/** An opened MM-IMDB HDF5 file. It is also a `Dataset` (records with plot and poster null), so `loadDataset` can return it. */
export interface Hdf5Dataset extends Dataset {
  path: string;
  /** imdb_ids, one per row (row i of every matrix belongs to ids[i]). */
  ids: string[];
  /** N×L row-major 0/1 genre matrix, columns in `labels` order (the file's target_names). */
  genres: Uint8Array;
  /** `features` (mean word2vec of the plot); rows with NaN (no known word) are marked missing and zeroed. */
  textFeatures(): FeatureMatrix;
  /** `vgg_features` (VGG-16 fc7 of the poster). */
  visualFeatures(): FeatureMatrix;
  /** `sequences`, ids shifted by one so that 0 is padding and 1 is the paper's _UNK_; null when absent. */
  sequences(): SequenceFeatures | null;
  /** Row i of `images`, read on its own; null when the file has no `images`. */
  image(i: number): Hdf5Image | null;
  /** A plain Dataset (no methods, no open file): records carry meta.hdf5Index. */
  toDataset(): Dataset;
  /** Close the file handle (accessors reopen it when called later). */
  close(): void;
}

export interface Hdf5LoadOptions {
  /** Show progress bars (stderr) while reading feature matrices. */
  progress?: boolean;
}

type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

let ready: Promise<unknown> | null = null;
/** h5wasm once its wasm module is ready (shared by the reader and hdf5-writer.ts). */
export async function h5(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The HDF5 superblock signature sits at byte 0 or, after a user block, at 512, 1024, 2048, ... */
function hasHdf5Signature(path: string): boolean {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size; offset = offset === 0 ? 512 : offset * 2) {
      if (readSync(fd, buf, 0, 8, offset) === 8 && buf.equals(HDF5_SIGNATURE)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

function openFile(path: string): H5File {
  // h5wasm opens anything without complaint and fails later with an obscure message: check first.
  if (!hasHdf5Signature(path))
    throw new Hdf5LayoutError(`${path}: not a readable HDF5 file (no HDF5 signature)`);
  try {
    return new h5wasm.File(path, 'r');
  } catch (err) {
    throw new Hdf5LayoutError(
      `${path}: not a readable HDF5 file (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

function getDataset(file: H5File, name: string): H5Dataset | null {
  if (!file.keys().includes(name)) return null;
  const entity = file.get(name);
  return entity instanceof h5wasm.Dataset ? entity : null;
}

/** Read rows [start, stop) of a 2-D or 4-D dataset as a typed array. */
function readRows(ds: H5Dataset, start: number, stop: number): TypedArray {
  const rank = ds.shape?.length ?? 0;
  const ranges: Array<[number, number] | []> = [[start, stop]];
  for (let i = 1; i < rank; i++) ranges.push([]);
  return ds.slice(ranges) as TypedArray;
}

function isIntegerType(meta: Metadata): boolean {
  return meta.type === 0; // H5T_INTEGER
}
function isFloatType(meta: Metadata): boolean {
  return meta.type === 1; // H5T_FLOAT
}

function attributeValue(holder: { attrs: Record<string, { value: unknown }> }, name: string): unknown {
  const attr = holder.attrs[name];
  return attr ? attr.value : undefined;
}

function parseTargetNames(raw: unknown, path: string): string[] | null {
  if (raw === undefined || raw === null) return null;
  let value = raw;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new Hdf5LayoutError(`${path}: attribute target_names of 'genres' is not a JSON list of names`);
    }
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new Hdf5LayoutError(`${path}: attribute target_names of 'genres' is not a list of names`);
}

/** Split ranges from Fuel's `split` array, our `split_ranges` attribute, or the paper's ratios. */
function readSplitRanges(
  file: H5File,
  n: number,
  path: string,
  issues: RecordIssue[],
): Record<SplitName, [number, number]> {
  const fuel = attributeValue(file, 'split');
  if (Array.isArray(fuel) && fuel.length > 0) {
    // Rows are [split, source, start, stop, indices, available, comment]; every source shares the ranges.
    const out: Partial<Record<SplitName, [number, number]>> = {};
    for (const row of fuel as unknown[][]) {
      const split = String(row[0]) as SplitName;
      if (!SPLITS.includes(split)) continue;
      const range: [number, number] = [Number(row[2]), Number(row[3])];
      if (row[1] === 'genres' || !out[split]) out[split] = range;
    }
    if (SPLITS.every((s) => out[s]))
      return validateRanges(out as Record<SplitName, [number, number]>, n, path, "root attribute 'split'");
    throw new Hdf5LayoutError(`${path}: root attribute 'split' does not give train, dev and test ranges`);
  }
  const ours = attributeValue(file, SPLIT_RANGES_ATTRIBUTE);
  if (typeof ours === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(ours);
    } catch {
      throw new Hdf5LayoutError(`${path}: root attribute '${SPLIT_RANGES_ATTRIBUTE}' is not JSON`);
    }
    const p = parsed as Record<string, unknown>;
    const ok = SPLITS.every((s) => Array.isArray(p[s]) && (p[s] as unknown[]).length === 2);
    if (!ok)
      throw new Hdf5LayoutError(
        `${path}: root attribute '${SPLIT_RANGES_ATTRIBUTE}' needs train, dev and test as [start, stop]`,
      );
    return validateRanges(
      p as Record<SplitName, [number, number]>,
      n,
      path,
      `root attribute '${SPLIT_RANGES_ATTRIBUTE}'`,
    );
  }
  if (n === PAPER_ROWS) return PAPER_HDF5_SPLIT;
  issues.push({
    kind: 'other',
    severity: 'warning',
    file: path,
    message: `no split attribute: rows split contiguously by the paper's ratios (15552/2608/7799 of 25959)`,
  });
  return splitByPaperRatios(n);
}

/** Contiguous ranges with the paper's train/dev/test ratios for a file of `n` rows. */
export function splitByPaperRatios(n: number): Record<SplitName, [number, number]> {
  const a = Math.round((n * PAPER_HDF5_SPLIT.dev[0]) / PAPER_ROWS);
  const b = Math.round((n * PAPER_HDF5_SPLIT.test[0]) / PAPER_ROWS);
  return { train: [0, a], dev: [a, b], test: [b, n] };
}

function validateRanges(
  ranges: Record<SplitName, [number, number]>,
  n: number,
  path: string,
  where: string,
): Record<SplitName, [number, number]> {
  for (const s of SPLITS) {
    const [a, b] = ranges[s].map(Number);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < a || b > n) {
      throw new Hdf5LayoutError(
        `${path}: ${where} gives ${s} rows [${a}, ${b}) outside the ${n} rows of the file`,
      );
    }
    ranges[s] = [a, b];
  }
  return ranges;
}

interface Layout {
  n: number;
  labels: string[];
  ids: string[];
  genres: Uint8Array;
  splitRanges: Record<SplitName, [number, number]>;
  /** Per optional dataset: why it cannot be used (null when usable, absent when not in the file). */
  broken: Partial<Record<'features' | 'vgg_features' | 'sequences' | 'images', string>>;
  present: Set<string>;
}

function describeShape(shape: number[] | null | undefined): string {
  return shape ? `[${shape.join(', ')}]` : 'scalar';
}

function readLayout(file: H5File, path: string, issues: RecordIssue[]): Layout {
  const genresDs = getDataset(file, 'genres');
  if (!genresDs)
    throw new Hdf5LayoutError(
      `${path}: dataset 'genres' is missing (expected N×23 with attribute target_names)`,
    );
  const gShape = genresDs.shape ?? [];
  if (gShape.length !== 2)
    throw new Hdf5LayoutError(`${path}: dataset 'genres' has shape ${describeShape(gShape)}, expected N×L`);
  const [n, L] = gShape;
  let labels = parseTargetNames(
    attributeValue(genresDs, 'target_names') ?? attributeValue(file, 'target_names'),
    path,
  );
  if (!labels) {
    if (L !== MMIMDB_GENRES.length) {
      throw new Hdf5LayoutError(
        `${path}: dataset 'genres' has ${L} columns and no attribute target_names naming them`,
      );
    }
    labels = [...MMIMDB_GENRES];
    issues.push({
      kind: 'missing-field',
      severity: 'warning',
      file: path,
      message: `'genres' has no target_names attribute: assuming the 23 MM-IMDB genres in the paper's order`,
    });
  }
  if (labels.length !== L) {
    throw new Hdf5LayoutError(
      `${path}: dataset 'genres' has ${L} columns but its attribute target_names lists ${labels.length} names`,
    );
  }
  if (!isIntegerType(genresDs.metadata) && !isFloatType(genresDs.metadata)) {
    throw new Hdf5LayoutError(`${path}: dataset 'genres' is not numeric (dtype ${String(genresDs.dtype)})`);
  }
  const rawGenres = genresDs.value as TypedArray;
  const genres = new Uint8Array(n * L);
  for (let i = 0; i < genres.length; i++) genres[i] = Number(rawGenres[i]) !== 0 ? 1 : 0;

  const idsDs = getDataset(file, 'imdb_ids');
  if (!idsDs) throw new Hdf5LayoutError(`${path}: dataset 'imdb_ids' is missing`);
  const idShape = idsDs.shape ?? [];
  if (idShape.length !== 1 || idShape[0] !== n) {
    throw new Hdf5LayoutError(
      `${path}: dataset 'imdb_ids' has shape ${describeShape(idShape)}, expected [${n}] like 'genres'`,
    );
  }
  if (idsDs.metadata.type !== 3)
    throw new Hdf5LayoutError(`${path}: dataset 'imdb_ids' does not hold strings`);
  const ids = (idsDs.value as string[]).map((s) => String(s).replace(/\0+$/, '').trim());

  const broken: Layout['broken'] = {};
  const present = new Set<string>();
  const check = (
    name: keyof Layout['broken'],
    ok: (shape: number[], meta: Metadata) => string | null,
  ): void => {
    const ds = getDataset(file, name);
    if (!ds) return;
    present.add(name);
    const problem = ok(ds.shape ?? [], ds.metadata);
    if (problem) {
      broken[name] = `${path}: dataset '${name}' ${problem}`;
      issues.push({ kind: 'malformed-field', severity: 'error', file: path, message: broken[name] });
    }
  };
  const matrix = (shape: number[], meta: Metadata): string | null => {
    if (shape.length !== 2 || shape[0] !== n) return `has shape ${describeShape(shape)}, expected [${n}, D]`;
    if (!isFloatType(meta) && !isIntegerType(meta)) return 'is not numeric';
    return null;
  };
  check('features', matrix);
  check('vgg_features', matrix);
  check('sequences', (shape, meta) => {
    if (meta.type === 9 /* H5T_VLEN */)
      return shape.length === 1 && shape[0] === n
        ? null
        : `has shape ${describeShape(shape)}, expected [${n}]`;
    if (isIntegerType(meta) && shape.length === 2 && shape[0] === n) return null; // padded N×T, see writeMmimdbHdf5
    return `has shape ${describeShape(shape)} and type ${String(meta.type)}, expected [${n}] variable-length ints or [${n}, T] ints`;
  });
  check('images', (shape, meta) => {
    if (shape.length !== 4 || shape[0] !== n || shape[1] !== 3)
      return `has shape ${describeShape(shape)}, expected [${n}, 3, H, W]`;
    if (!isFloatType(meta) && !isIntegerType(meta)) return 'is not numeric';
    return null;
  });
  const splitRanges = readSplitRanges(file, n, path, issues);
  return { n, labels, ids, genres, splitRanges, broken, present };
}

function buildRecords(
  layout: Layout,
  path: string,
  issues: RecordIssue[],
): { records: MovieRecord[]; splits: Record<SplitName, string[]> } {
  const { n, labels, ids, genres, splitRanges } = layout;
  const L = labels.length;
  const splitOf = new Array<SplitName | undefined>(n);
  for (const s of SPLITS) for (let i = splitRanges[s][0]; i < splitRanges[s][1]; i++) splitOf[i] ??= s;
  const seen = new Set<string>();
  const records: MovieRecord[] = [];
  const splits: Record<SplitName, string[]> = { train: [], dev: [], test: [] };
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (!id) {
      issues.push({
        kind: 'missing-field',
        severity: 'error',
        file: path,
        message: `row ${i}: empty imdb_id; row skipped`,
      });
      continue;
    }
    if (seen.has(id)) {
      issues.push({
        kind: 'duplicate-id',
        severity: 'error',
        id,
        file: path,
        message: `row ${i}: imdb_id ${id} already seen in an earlier row; row skipped`,
      });
      continue;
    }
    seen.add(id);
    const movieGenres: string[] = [];
    for (let j = 0; j < L; j++) if (genres[i * L + j]) movieGenres.push(labels[j]);
    if (movieGenres.length === 0) {
      issues.push({
        kind: 'no-known-genre',
        severity: 'error',
        id,
        file: path,
        message: `row ${i}: no genre set in 'genres'; dropped`,
      });
      continue;
    }
    const split = splitOf[i];
    records.push({
      id,
      plot: null,
      genres: movieGenres,
      posterPath: null,
      split,
      // Where encoders that read the file's own rows (features, sequences, images) find this movie.
      meta: { hdf5File: path, hdf5Index: i },
    });
    if (split) splits[split].push(id);
  }
  return { records, splits };
}

/** Open an MM-IMDB HDF5 file: reads ids, genres and the split now, everything else on demand. */
export async function loadMmimdbHdf5(path: string, opts: Hdf5LoadOptions = {}): Promise<Hdf5Dataset> {
  await h5();
  const abs = resolve(path);
  if (!existsSync(abs)) throw new Hdf5LayoutError(`${abs}: no such file`);
  if (statSync(abs).isDirectory()) throw new Hdf5LayoutError(`${abs} is a directory, not an HDF5 file`);
  let file: H5File | null = openFile(abs);
  const issues: RecordIssue[] = [];
  let layout: Layout;
  try {
    layout = readLayout(file, abs, issues);
  } catch (err) {
    file.close();
    throw err;
  }
  const { records, splits } = buildRecords(layout, abs, issues);
  const handle = (): H5File => (file ??= openFile(abs));
  const usable = (name: keyof Layout['broken']): H5Dataset | null => {
    if (!layout.present.has(name)) return null;
    if (layout.broken[name]) throw new Hdf5LayoutError(layout.broken[name]);
    return getDataset(handle(), name);
  };

  const readMatrix = (name: 'features' | 'vgg_features'): FeatureMatrix => {
    const ds = usable(name);
    if (!ds) throw new Hdf5LayoutError(`${abs}: dataset '${name}' is missing`);
    const [n, dim] = ds.shape as [number, number];
    const data = new Float32Array(n * dim);
    const missing = new Uint8Array(n);
    // Blocks of ~16 MB keep the wasm heap small whatever the file size.
    const block = Math.max(1, Math.floor((4 << 20) / dim));
    const bar = progress(`hdf5 ${name}`, n, { unit: 'rows', silent: !opts.progress });
    for (let start = 0; start < n; start += block) {
      const stop = Math.min(n, start + block);
      const rows = readRows(ds, start, stop);
      if (rows instanceof Float32Array || rows instanceof Float64Array || rows instanceof Int32Array) {
        data.set(rows, start * dim);
      } else {
        for (let k = 0; k < rows.length; k++) data[start * dim + k] = Number(rows[k]);
      }
      bar.tick(stop - start);
    }
    bar.stop();
    for (let i = 0; i < n; i++) {
      const row = data.subarray(i * dim, (i + 1) * dim);
      if (row.some((v) => Number.isNaN(v))) {
        missing[i] = 1;
        row.fill(0);
      }
    }
    return { ids: layout.ids.slice(), dim, data, missing, rowShape: [dim] };
  };

  const dataset: Hdf5Dataset = {
    name: basename(abs),
    root: dirname(abs),
    format: 'mmimdb-hdf5',
    path: abs,
    labels: layout.labels,
    ids: layout.ids,
    genres: layout.genres,
    records,
    splits,
    issues,
    textFeatures: () => readMatrix('features'),
    visualFeatures: () => readMatrix('vgg_features'),
    sequences(): SequenceFeatures | null {
      const ds = usable('sequences');
      if (!ds) return null;
      const n = layout.n;
      const sequences: Int32Array[] = [];
      let maxId = 1;
      const shift = (src: ArrayLike<number | bigint>, padding: number | null): Int32Array => {
        const out: number[] = [];
        for (let k = 0; k < src.length; k++) {
          const v = Number(src[k]);
          if (padding !== null && v === padding) continue;
          out.push(v + 1);
          if (v + 1 > maxId) maxId = v + 1;
        }
        return Int32Array.from(out);
      };
      if (ds.metadata.type === 9) {
        const block = 4096;
        for (let start = 0; start < n; start += block) {
          const rows = ds.slice([[start, Math.min(n, start + block)]]) as unknown as Array<ArrayLike<number>>;
          for (const r of rows) sequences.push(shift(r, null));
        }
      } else {
        const [, T] = ds.shape as [number, number];
        const padAttr = attributeValue(ds, 'padding');
        const padding = padAttr === undefined ? -1 : Number(padAttr);
        const all = ds.value as TypedArray;
        for (let i = 0; i < n; i++)
          sequences.push(shift(all.subarray(i * T, (i + 1) * T) as ArrayLike<number | bigint>, padding));
      }
      const vocabAttr = attributeValue(ds, 'vocab_size');
      const missing = new Uint8Array(n);
      sequences.forEach((s, i) => (missing[i] = s.length === 0 ? 1 : 0));
      return {
        ids: layout.ids.slice(),
        sequences,
        missing,
        vocabSize: vocabAttr !== undefined ? Number(vocabAttr) + 1 : maxId + 1,
      };
    },
    image(i: number): Hdf5Image | null {
      const ds = usable('images');
      if (!ds) return null;
      if (!Number.isInteger(i) || i < 0 || i >= layout.n)
        throw new RangeError(`image index ${i} outside [0, ${layout.n})`);
      const [, c, h, w] = ds.shape as [number, number, number, number];
      const raw = readRows(ds, i, i + 1);
      if (isFloatType(ds.metadata))
        return {
          data: raw instanceof Float32Array ? raw : Float32Array.from(raw as Float64Array),
          shape: [c, h, w],
        };
      const data = new Uint8Array(raw.length);
      for (let k = 0; k < raw.length; k++) {
        const v = Number(raw[k]);
        data[k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
      return { data, shape: [c, h, w] };
    },
    toDataset(): Dataset {
      return {
        name: dataset.name,
        root: dataset.root,
        format: 'mmimdb-hdf5',
        labels: layout.labels.slice(),
        records,
        splits,
        issues,
      };
    },
    close(): void {
      file?.close();
      file = null;
    },
  };
  return dataset;
}
