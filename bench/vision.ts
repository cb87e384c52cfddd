/**
 * Poster feature throughput, one core: decode + resize (sharp) alone, then decode + resize +
 * inference with the bundled MobileNetV2 on tfjs-wasm and on onnxruntime-node (the same weights
 * exported to ONNX). Real sample posters when ../shared is present, synthetic images otherwise.
 * The feature cache runs one encoder per worker thread; 2 workers ≈ 2× these figures.
 */
import { existsSync, readdirSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import type { MovieRecord } from '../src/data/types.js';
import { env } from '../src/env.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { loadRgbBatch, visionEncoders } from '../src/vision/index.js';
import type { BenchRow } from './types.js';

const N = 96;
const SAMPLE = resolve('..', 'shared', 'datasets', 'mmimdb-sample', 'dataset');

async function posterRecords(): Promise<{ records: MovieRecord[]; source: string }> {
  if (existsSync(SAMPLE)) {
    const files = readdirSync(SAMPLE)
      .filter((f) => f.endsWith('.jpeg'))
      .sort()
      .slice(0, N);
    return {
      records: files.map((f) => ({ id: f, plot: null, genres: [], posterPath: join(SAMPLE, f), meta: {} })),
      source: `${files.length} real MM-IMDB sample posters`,
    };
  }
  const dir = join(env.cacheDir, 'bench-posters');
  mkdirSync(dir, { recursive: true });
  const records: MovieRecord[] = [];
  for (let i = 0; i < N; i++) {
    const path = join(dir, `p${i}.jpg`);
    if (!existsSync(path)) {
      const noise = Buffer.alloc(320 * 480 * 3);
      for (let k = 0; k < noise.length; k++) noise[k] = (k * 31 + i * 97) % 251;
      await sharp(noise, { raw: { width: 320, height: 480, channels: 3 } })
        .jpeg()
        .toFile(path);
    }
    records.push({ id: `p${i}`, plot: null, genres: [], posterPath: path, meta: {} });
  }
  return { records, source: `${N} synthetic 320×480 JPEGs` };
}

async function rate(fn: () => Promise<unknown>, items: number): Promise<number> {
  const t = performance.now();
  await fn();
  return items / ((performance.now() - t) / 1000);
}

export async function benchVision(): Promise<BenchRow[]> {
  sharp.concurrency(1); // one core: libvips on a single thread
  const { records, source } = await posterRecords();
  const paths = records.map((r) => r.posterPath as string);
  const load = loadavg()[0].toFixed(1);
  const note = `${source}, 1 core (sharp 1 thread, 1 inference thread), load avg ${load}`;
  const rows: BenchRow[] = [];

  await loadRgbBatch(paths.slice(0, 8), { size: 224 }, 2); // warm-up
  rows.push({
    name: 'decode+resize 224 (sharp)',
    value: await rate(() => loadRgbBatch(paths, { size: 224 }, 2), paths.length),
    unit: 'posters/s',
    note,
  });

  const tfjs = visionEncoders.mobilenet_v2({ batchSize: 16, decodeConcurrency: 2 });
  let t = performance.now();
  await tfjs.init();
  rows.push({ name: 'mobilenet_v2 (tfjs-wasm) load', value: performance.now() - t, unit: 'ms' });
  await tfjs.encode(records.slice(0, 4));
  rows.push({
    name: 'mobilenet_v2 (tfjs-wasm) decode+infer',
    value: await rate(() => tfjs.encode(records), records.length),
    unit: 'posters/s',
    note: `${note}; issue anchor ~22/s per core`,
  });
  tfjs.dispose();

  const savedCache = env.cacheDir;
  env.cacheDir = join(savedCache, 'bench-onnx'); // a fresh export, so its time is measured
  const onnxFile = join(env.cacheDir, 'models');
  const existed = existsSync(onnxFile);
  const onnx = visionEncoders.mobilenet_v2_onnx({ batchSize: 16, decodeConcurrency: 2, threads: 1 });
  t = performance.now();
  await onnx.init();
  rows.push({
    name: 'mobilenet_v2_onnx export+load',
    value: performance.now() - t,
    unit: 'ms',
    note: existed
      ? 'ONNX file already exported: load only'
      : 'first use: export from the nsfwjs weights, then load',
  });
  await onnx.encode(records.slice(0, 4));
  rows.push({
    name: 'mobilenet_v2_onnx (onnxruntime) decode+infer',
    value: await rate(() => onnx.encode(records), records.length),
    unit: 'posters/s',
    note: `${note}; same weights, features equal to tfjs within 1e-5`,
  });
  onnx.dispose();
  env.cacheDir = savedCache;

  writeJsonAtomic(resolve('bench', 'results', 'vision.json'), { date: new Date().toISOString(), rows });
  return rows;
}
