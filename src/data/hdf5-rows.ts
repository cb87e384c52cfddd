/**
 * Row access to an MM-IMDB HDF5 file for the encoders that read its own data (precomputed
 * features, token sequences, poster pixels). Records loaded from the file carry
 * `meta.hdf5File` and `meta.hdf5Index`; feature-extraction workers get only the records, so
 * each thread opens the file itself (once, read-only) and reads just the rows of its chunk:
 * the ~8 GB file is never loaded whole.
 */
import h5wasm from 'h5wasm/node';
import type { Dataset as H5Dataset, File as H5File } from 'h5wasm';
import { MmgenreError } from '../util/errors.js';
export { hdf5SourceOf, hdf5FileOf, hdf5Stamp, type Hdf5Source } from './hdf5-source.js';

/** A file or dataset that cannot serve the rows an encoder asked for. */
export class Hdf5SourceError extends MmgenreError {
  constructor(message: string) {
    super('input', message);
  }
}

const open = new Map<string, H5File>();
let ready: Promise<unknown> | null = null;

async function fileFor(path: string): Promise<H5File> {
  ready ??= h5wasm.ready;
  await ready;
  let f = open.get(path);
  if (!f) {
    try {
      f = new h5wasm.File(path, 'r');
    } catch (err) {
      throw new Hdf5SourceError(`${path}: cannot open (${err instanceof Error ? err.message : String(err)})`);
    }
    open.set(path, f);
  }
  return f;
}

/** Close every file this thread opened (encoders call it from dispose). */
export function closeHdf5Files(): void {
  for (const f of open.values()) f.close();
  open.clear();
}

/** A dataset of the file, or a clear error naming what is missing. */
export async function hdf5Dataset(path: string, name: string): Promise<H5Dataset> {
  const f = await fileFor(path);
  const ds = f.keys().includes(name) ? f.get(name) : null;
  if (!(ds instanceof h5wasm.Dataset))
    throw new Hdf5SourceError(`${path} has no dataset '${name}' (it holds: ${f.keys().join(', ')})`);
  return ds;
}

type Numeric = ArrayLike<number | bigint>;

/**
 * Rows `indices` of an N×D numeric dataset, as float32 rows (in the order asked). Contiguous
 * runs of indices are read as one hyperslab each.
 */
export async function readMatrixRows(
  path: string,
  name: string,
  indices: readonly number[],
): Promise<{ dim: number; rows: Float32Array[] }> {
  const ds = await hdf5Dataset(path, name);
  const shape = ds.shape ?? [];
  if (shape.length !== 2 || (ds.metadata.type !== 0 && ds.metadata.type !== 1))
    throw new Hdf5SourceError(`${path}: dataset '${name}' is not an N×D numeric matrix (shape [${shape}])`);
  const [n, dim] = shape;
  const rows = new Array<Float32Array>(indices.length);
  for (const run of runsOf(indices)) {
    const first = indices[run[0]];
    const last = indices[run[run.length - 1]];
    if (first < 0 || last >= n)
      throw new Hdf5SourceError(`${path}: row ${last} outside '${name}' (${n} rows)`);
    const block = ds.slice([[first, last + 1], []]) as unknown as Numeric;
    for (const k of run) {
      const off = (indices[k] - first) * dim;
      const row = new Float32Array(dim);
      for (let j = 0; j < dim; j++) row[j] = Number(block[off + j]);
      rows[k] = row;
    }
  }
  return { dim, rows };
}

/** Positions of `indices` grouped into runs of consecutive increasing values. */
function runsOf(indices: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (let k = 0; k < indices.length; k++) {
    const cur = runs[runs.length - 1];
    if (cur && indices[k] === indices[cur[cur.length - 1]] + 1) cur.push(k);
    else runs.push([k]);
  }
  return runs;
}

/** Width of a matrix dataset (its second dimension), or a clear error. */
export async function matrixDim(path: string, name: string): Promise<number> {
  const ds = await hdf5Dataset(path, name);
  const shape = ds.shape ?? [];
  if (shape.length !== 2)
    throw new Hdf5SourceError(`${path}: dataset '${name}' has shape [${shape}], expected N×D`);
  return shape[1];
}

/**
 * Token ids of `sequences` rows in the project's convention (0 padding, 1 the paper's id 0),
 * from variable-length rows (the paper's file) or a padded N×T matrix (attribute `padding`).
 */
export async function readSequenceRows(path: string, indices: readonly number[]): Promise<Int32Array[]> {
  const ds = await hdf5Dataset(path, 'sequences');
  const shape = ds.shape ?? [];
  const n = shape[0];
  const out = new Array<Int32Array>(indices.length);
  const vlen = ds.metadata.type === 9;
  const padAttr = ds.attrs.padding?.value;
  const padding = vlen ? null : padAttr === undefined ? -1 : Number(padAttr);
  for (const run of runsOf(indices)) {
    const first = indices[run[0]];
    const last = indices[run[run.length - 1]];
    if (first < 0 || last >= n)
      throw new Hdf5SourceError(`${path}: row ${last} outside 'sequences' (${n} rows)`);
    if (vlen) {
      const rows = ds.slice([[first, last + 1]]) as unknown as Numeric[];
      for (const k of run) out[k] = shifted(rows[indices[k] - first], null);
    } else {
      const T = shape[1];
      const block = ds.slice([[first, last + 1], []]) as unknown as Numeric;
      for (const k of run) {
        const off = (indices[k] - first) * T;
        const row: number[] = [];
        for (let j = 0; j < T; j++) row.push(Number(block[off + j]));
        out[k] = shifted(row, padding);
      }
    }
  }
  return out;
}

function shifted(src: Numeric, padding: number | null): Int32Array {
  const out: number[] = [];
  for (let k = 0; k < src.length; k++) {
    const v = Number(src[k]);
    if (padding !== null && v === padding) continue;
    out.push(v + 1);
  }
  return Int32Array.from(out);
}

/**
 * The vocabulary size of `sequences` in the project's convention (largest id + 2): from its
 * `vocab_size` attribute, else from one pass over the rows in blocks.
 */
export async function sequenceVocabSize(path: string): Promise<number> {
  const ds = await hdf5Dataset(path, 'sequences');
  const attr = ds.attrs.vocab_size?.value;
  if (attr !== undefined) return Number(attr) + 1;
  const n = (ds.shape ?? [0])[0];
  let max = 0;
  const block = 4096;
  for (let start = 0; start < n; start += block) {
    const idx = Array.from({ length: Math.min(block, n - start) }, (_, k) => start + k);
    for (const s of await readSequenceRows(path, idx)) for (const v of s) if (v > max) max = v;
  }
  return max + 1;
}

/** Poster pixels of one row of `images` (C×H×W in the file) as interleaved RGB bytes. */
export interface Hdf5Pixels {
  width: number;
  height: number;
  /** H×W×3 bytes. */
  data: Uint8Array;
}

/** Row `index` of `images`: int (0-255, clamped) or float (0-1 scaled to 0-255 when its maximum is ≤ 1). */
export async function readImage(path: string, index: number): Promise<Hdf5Pixels> {
  const ds = await hdf5Dataset(path, 'images');
  const shape = ds.shape ?? [];
  if (shape.length !== 4 || shape[1] !== 3)
    throw new Hdf5SourceError(`${path}: dataset 'images' has shape [${shape}], expected [N, 3, H, W]`);
  const [n, , height, width] = shape;
  if (index < 0 || index >= n)
    throw new Hdf5SourceError(`${path}: row ${index} outside 'images' (${n} rows)`);
  const raw = ds.slice([[index, index + 1], [], [], []]) as unknown as Numeric;
  const plane = height * width;
  let scale = 1;
  if (ds.metadata.type === 1) {
    let max = 0;
    for (let k = 0; k < raw.length; k++) max = Math.max(max, Number(raw[k]));
    if (max <= 1) scale = 255;
  }
  const data = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = Math.round(Number(raw[c * plane + p]) * scale);
      data[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return { width, height, data };
}
