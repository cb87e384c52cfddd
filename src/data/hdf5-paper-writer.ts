/**
 * Write an MM-IMDB HDF5 file in the exact layout of the paper authors' `multimodal_imdb.hdf5`
 * (make_dataset.py of johnarevalo/gmu-mmimdb, h5py + Fuel), for tests and benchmarks that must
 * read what users will read: `sequences` as variable-length int32 rows, the split as Fuel's
 * compound root attribute `split` (split, source, start, stop, a null object reference in
 * `indices`, available, comment), int32 (or uint8) `images` N×3×H×W written in blocks of rows.
 *
 * h5wasm writes neither variable-length numeric rows nor enums, so two things are done by hand
 * (no JavaScript library writes HDF5 otherwise):
 * - `sequences` is first written as variable-length *strings* of 4 bytes per token (an HDF5
 *   file with version-0 superblock and version-1 object headers, which carry no checksums), then
 *   patched in place: the datatype becomes a variable-length sequence of int32 (same message
 *   size), each element's length becomes its token count, and each global-heap object gets the
 *   tokens' bytes. The HDF5 library (h5wasm, h5py) then reads a plain VLEN int32 dataset.
 * - Fuel's `available` column is a bool, which h5py stores as an int8 enum; here it is int8.
 */
import { readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import h5wasm from 'h5wasm/node';
import type { SplitName } from './types.js';
import { writeFeatureDatasets } from './hdf5-writer.js';

export interface PaperLayoutData {
  ids: readonly string[];
  labels: readonly string[];
  /** N×L row-major 0/1. */
  genres: Uint8Array;
  /** `features`: N×300 mean word2vec (any width). */
  features?: { dim: number; data: Float32Array };
  /** `vgg_features`: N×4096 (any width). */
  vggFeatures?: { dim: number; data: Float32Array };
  /** Token ids in the project's convention (1 = the paper's id 0); stored as the paper's ids. */
  sequences?: readonly Int32Array[];
  /** `images`: shape of one row and its rows, produced block by block ([start, stop) → C×H×W each). */
  images?: {
    shape: [number, number, number];
    dtype: 'int32' | 'uint8';
    rows(start: number, stop: number): Int32Array | Uint8Array;
  };
  splitSizes: Record<SplitName, number>;
}

const IMAGE_BLOCK_ROWS = 64;

/** Write `data` to `path` atomically (temp file + rename) in the paper's layout. */
export async function writePaperLayoutHdf5(path: string, data: PaperLayoutData): Promise<void> {
  await h5wasm.ready;
  const n = data.ids.length;
  const L = data.labels.length;
  if (data.genres.length !== n * L)
    throw new Error(`genres has ${data.genres.length} values, expected ${n}×${L}`);
  const { train, dev, test } = data.splitSizes;
  if (train + dev + test !== n) throw new Error(`splitSizes add up to ${train + dev + test}, expected ${n}`);
  const abs = resolve(path);
  mkdirSync(dirname(abs), { recursive: true });
  const tmp = join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // Version-1 object headers (no checksums) so that the sequences can be patched in place.
    const libver = { libver: ['earliest', 'v108'] as ['earliest', 'v108'] };
    if (data.sequences) {
      if (data.sequences.length !== n)
        throw new Error(`sequences has ${data.sequences.length} rows, expected ${n}`);
      const f = new h5wasm.File(tmp, 'w', libver);
      f.create_dataset({ name: 'sequences', data: data.sequences.map((s) => 'A'.repeat(4 * s.length)) });
      f.close();
      writeFileSync(tmp, patchVlenStringsToInt32(readFileSync(tmp), data.sequences));
    }
    const f = new h5wasm.File(tmp, data.sequences ? 'a' : 'w', libver);
    try {
      writeFeatureDatasets(f, n, data);
      if (data.images) writeImages(f, n, data.images);
      const genres = f.create_dataset({
        name: 'genres',
        data: Int32Array.from(data.genres),
        shape: [n, L],
        dtype: '<i',
      });
      genres.create_attribute('target_names', JSON.stringify(data.labels));
      const idLength = Math.max(1, ...data.ids.map((s) => Buffer.byteLength(s)));
      f.create_dataset({ name: 'imdb_ids', data: [...data.ids], shape: [n], dtype: `A${idLength}` });
      const sources = ['features', 'vgg_features', 'images', 'sequences', 'genres', 'imdb_ids']
        .filter((s) => f.keys().includes(s))
        .sort();
      writeFuelSplit(f, sources, { train: [0, train], dev: [train, train + dev], test: [train + dev, n] });
    } finally {
      f.close();
    }
    renameSync(tmp, abs);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeImages(
  f: InstanceType<typeof h5wasm.File>,
  n: number,
  images: NonNullable<PaperLayoutData['images']>,
): void {
  const [c, h, w] = images.shape;
  const per = c * h * w;
  const dtype = images.dtype === 'int32' ? '<i' : '|B';
  const first = Math.min(n, IMAGE_BLOCK_ROWS);
  const check = (rows: Int32Array | Uint8Array, count: number): Int32Array | Uint8Array => {
    if (rows.length !== count * per)
      throw new Error(`images: ${rows.length} values for ${count} rows of ${c}×${h}×${w}`);
    return rows;
  };
  const ds = f.create_dataset({
    name: 'images',
    data: check(images.rows(0, first), first),
    shape: [first, c, h, w],
    maxshape: [n, c, h, w],
    chunks: [1, c, h, w],
    dtype,
  });
  for (let start = first; start < n; start += IMAGE_BLOCK_ROWS) {
    const stop = Math.min(n, start + IMAGE_BLOCK_ROWS);
    ds.resize([stop, c, h, w]);
    ds.write_slice([[start, stop], [], [], []], check(images.rows(start, stop), stop - start));
  }
}

/** Fuel's split array (H5PYDataset.create_split_array) as the root attribute `split`. */
function writeFuelSplit(
  f: InstanceType<typeof h5wasm.File>,
  sources: string[],
  ranges: Record<SplitName, [number, number]>,
): void {
  const rows: Array<[string, string, number, number]> = [];
  for (const split of ['train', 'dev', 'test'] as const)
    for (const source of sources) rows.push([split, source, ranges[split][0], ranges[split][1]]);
  const sourceLen = Math.max(...sources.map((s) => s.length));
  // An all-zero object reference: h5py's null Reference(), what Fuel stores when no indices are given.
  const nullRef = { ref_data: new Uint8Array(8) };
  f.create_attribute(
    'split',
    new Map<string, unknown>([
      ['split', rows.map((r) => r[0])],
      ['source', rows.map((r) => r[1])],
      ['start', rows.map((r) => BigInt(r[2]))],
      ['stop', rows.map((r) => BigInt(r[3]))],
      ['indices', rows.map(() => nullRef)],
      ['available', rows.map(() => 1)],
      ['comment', rows.map(() => '.')],
    ]) as never,
    [rows.length],
    [
      ['split', 'A5'],
      ['source', `A${sourceLen}`],
      ['start', '<q'],
      ['stop', '<q'],
      ['indices', 'Reference'],
      ['available', '|b'],
      ['comment', 'A1'],
    ],
  );
}

/**
 * Turn a dataset of variable-length strings (4 placeholder bytes per token) into variable-length
 * int32 sequences holding `sequences` (project ids, stored as the paper's: one less). The file
 * must hold only that dataset and use version-1 object headers.
 */
function patchVlenStringsToInt32(file: Buffer, sequences: readonly Int32Array[]): Buffer {
  const buf = Buffer.from(file);
  // 1. The datatype message: VLEN (class 9, version 1) of type string, size 16, base a 1-byte
  //    unsigned fixed-point; rewritten as VLEN of type sequence with a signed 32-bit base.
  let at = -1;
  for (let i = 0; i + 20 <= buf.length; i++) {
    if (
      buf[i] === 0x19 &&
      (buf[i + 1] & 0x0f) === 1 &&
      buf.readUInt32LE(i + 4) === 16 &&
      buf[i + 8] === 0x10 &&
      buf.readUInt32LE(i + 12) === 1 &&
      buf.readUInt16LE(i + 18) === 8
    ) {
      if (at !== -1) throw new Error('sequences patch: more than one VLEN string datatype in the file');
      at = i;
    }
  }
  if (at === -1) throw new Error('sequences patch: no VLEN string datatype found');
  buf[at + 1] = 0; // type 0 = sequence, no padding or character set
  buf[at + 2] = 0;
  buf[at + 9] = 0x08; // base: little-endian, signed
  buf.writeUInt32LE(4, at + 12); // base size 4 bytes
  buf.writeUInt16LE(0, at + 16); // bit offset
  buf.writeUInt16LE(32, at + 18); // bit precision

  // 2. The global heap: object (collection address, index) → its data offset and size.
  const objects = new Map<string, { offset: number; size: number }>();
  for (let g = buf.indexOf('GCOL'); g !== -1; g = buf.indexOf('GCOL', g + 4)) {
    const collectionSize = Number(buf.readBigUInt64LE(g + 8));
    let p = g + 16;
    while (p + 16 <= g + collectionSize) {
      const index = buf.readUInt16LE(p);
      const size = Number(buf.readBigUInt64LE(p + 8));
      if (index === 0) break; // free space
      objects.set(`${g}:${index}`, { offset: p + 16, size });
      p += 16 + Math.ceil(size / 8) * 8;
    }
  }

  // 3. The dataset's elements (length u32, heap address u64, object index u32), found as the one
  //    run of n elements whose lengths are the placeholders' and whose addresses are collections.
  const n = sequences.length;
  const isElement = (off: number, i: number): boolean => {
    if (off + 16 > buf.length || buf.readUInt32LE(off) !== 4 * sequences[i].length) return false;
    if (sequences[i].length === 0) return true;
    const key = `${Number(buf.readBigUInt64LE(off + 4))}:${buf.readUInt32LE(off + 12)}`;
    return objects.get(key)?.size === 4 * sequences[i].length;
  };
  let start = -1;
  for (let off = 0; off + 16 * n <= buf.length && start === -1; off++) {
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = isElement(off + 16 * i, i);
    if (ok) start = off;
  }
  if (start === -1) throw new Error('sequences patch: the elements of the dataset were not found');
  for (let i = 0; i < n; i++) {
    const off = start + 16 * i;
    const s = sequences[i];
    buf.writeUInt32LE(s.length, off);
    if (s.length === 0) continue;
    const obj = objects.get(`${Number(buf.readBigUInt64LE(off + 4))}:${buf.readUInt32LE(off + 12)}`)!;
    for (let k = 0; k < s.length; k++) buf.writeInt32LE(s[k] - 1, obj.offset + 4 * k);
  }
  return buf;
}
