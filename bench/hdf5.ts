/**
 * HDF5 layout throughput: opening a generated MM-IMDB HDF5 file of a few thousand rows (ids +
 * genres + split), reading its feature matrices, and random access to single images; plus
 * `data synth` throughput (movies/s), the other generator of this area.
 * `npx tsx bench/hdf5.ts` runs it alone; `npm run bench hdf5` through bench/index.ts.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMmimdbHdf5 } from '../src/data/hdf5.js';
import { writeMmimdbHdf5 } from '../src/data/hdf5-writer.js';
import { synthesizeDataset } from '../src/data/synth.js';
import { MMIMDB_GENRES } from '../src/data/genres.js';
import { createRng } from '../src/util/random.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROWS = 5000;
const IMAGE_ROWS = 400;

async function best<T>(runs: number, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  let value = await fn(); // warm-up
  let ms = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    value = await fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return { ms, value };
}

export async function benchHdf5(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mmgenre-bench-hdf5-'));
  const rows: BenchRow[] = [];
  try {
    const rng = createRng(1);
    const L = MMIMDB_GENRES.length;
    const genres = new Uint8Array(ROWS * L);
    for (let i = 0; i < ROWS; i++) genres[i * L + rng.int(0, L - 1)] = 1;
    const ids = Array.from({ length: ROWS }, (_, i) => String(1_000_000 + i).padStart(7, '0'));
    const features = Float32Array.from({ length: ROWS * 300 }, () => rng.normal());
    const vgg = Float32Array.from({ length: ROWS * 4096 }, () => rng.next());
    const file = join(dir, 'multimodal_imdb.hdf5');
    const tw = performance.now();
    await writeMmimdbHdf5(file, {
      ids,
      labels: MMIMDB_GENRES,
      genres,
      features: { dim: 300, data: features },
      vggFeatures: { dim: 4096, data: vgg },
    });
    const writeMs = performance.now() - tw;
    const mb = statSync(file).size / 2 ** 20;
    rows.push({
      name: 'hdf5 write (5,000 rows, 300 + 4096 floats)',
      value: mb / (writeMs / 1000),
      unit: 'MiB/s',
      note: `${mb.toFixed(0)} MiB file`,
    });

    const open = await best(3, async () => {
      const ds = await loadMmimdbHdf5(file);
      ds.close();
      return ds.records.length;
    });
    rows.push({
      name: 'hdf5 open: ids + genres + split',
      value: (1000 * open.value) / open.ms,
      unit: 'records/s',
      note: `${ROWS} rows; best of 3 after a warm-up`,
    });

    const ds = await loadMmimdbHdf5(file);
    const text = await best(3, () => ds.textFeatures().ids.length);
    rows.push({ name: "hdf5 read 'features' (N×300)", value: (1000 * text.value) / text.ms, unit: 'rows/s' });
    const visual = await best(1, () => ds.visualFeatures().ids.length);
    rows.push({
      name: "hdf5 read 'vgg_features' (N×4096)",
      value: (1000 * visual.value) / visual.ms,
      unit: 'rows/s',
      note: `${((visual.value * 4096 * 4) / 2 ** 20 / (visual.ms / 1000)).toFixed(0)} MiB/s`,
    });
    ds.close();

    // Random single-image reads, as a training loop over the paper's 8 GB file does them.
    const imgFile = join(dir, 'images.hdf5');
    const [c, h, w] = [3, 256, 160];
    const pixels = new Uint8Array(IMAGE_ROWS * c * h * w);
    for (let k = 0; k < pixels.length; k += 97) pixels[k] = k & 255;
    await writeMmimdbHdf5(imgFile, {
      ids: ids.slice(0, IMAGE_ROWS),
      labels: MMIMDB_GENRES,
      genres: genres.subarray(0, IMAGE_ROWS * L),
      images: { shape: [c, h, w], data: pixels },
    });
    const imgDs = await loadMmimdbHdf5(imgFile);
    const order = rng.shuffle(Array.from({ length: IMAGE_ROWS }, (_, i) => i));
    const images = await best(1, () => {
      for (const i of order) imgDs.image(i);
      return order.length;
    });
    imgDs.close();
    rows.push({
      name: 'hdf5 image(i), random order (3×256×160)',
      value: (1000 * images.value) / images.ms,
      unit: 'images/s',
    });

    const synthRuns: number[] = [];
    for (let k = 0; k < 2; k++) {
      const t0 = performance.now();
      await synthesizeDataset({ out: join(dir, `synth-${k}`), n: 300, seed: 1, silent: true });
      synthRuns.push(performance.now() - t0);
    }
    const synthMs = Math.min(...synthRuns);
    rows.push({
      name: 'data synth (300 movies, posters + JSON)',
      value: (300 * 1000) / synthMs,
      unit: 'movies/s',
      note: `${(synthMs / 1000).toFixed(1)} s for 300`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeJsonAtomic(join(here, 'results', 'hdf5.json'), { date: new Date().toISOString(), rows });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await benchHdf5();
  for (const r of rows)
    process.stdout.write(
      `${r.name.padEnd(48)} ${r.value.toFixed(1).padStart(12)} ${r.unit}  ${r.note ?? ''}\n`,
    );
}
