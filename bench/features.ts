/**
 * Feature-cache benchmark: poster extraction throughput with the bundled MobileNetV2 (decode +
 * resize + inference on tfjs-wasm) on 1 and 2 worker threads, and the time to read a cached
 * matrix back. Run: `npm run bench features` (or `npx tsx bench/features.ts`).
 * MMGENRE_BENCH_POSTERS=N limits the posters extracted (default: the whole sample).
 */
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadDataset } from '../src/data/load.js';
import type { Dataset } from '../src/data/types.js';
import { extractFeaturesWithReport, loadFeatures } from '../src/features/extract.js';
import { registerEncoder } from '../src/features/registry.js';
import { listEntries, readManifest, readMatrix, type FeatureDtype } from '../src/features/store.js';
import type { FeatureMatrix } from '../src/features/types.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const SAMPLE = fileURLToPath(new URL('../../shared/datasets/mmimdb-sample', import.meta.url));

/** Extract the posters into `cacheDir`; rates end to end and in steady state. */
async function extractionRate(
  dataset: Dataset,
  workers: number,
  cacheDir: string,
  encoder = 'mobilenet_v2',
): Promise<{ endToEnd: number; steady: number; perCpuSecond: number }> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage(); // the whole process: worker threads included
  // The steady window opens once every worker has finished a chunk (all models loaded).
  let events = 0;
  let first: { t: number; rows: number } | null = null;
  const { report } = await extractFeaturesWithReport(dataset, encoder, {
    cacheDir,
    workers,
    chunkRows: 16,
    progress: false,
    onProgress: (done) => {
      if (++events === Math.max(1, workers)) first = { t: performance.now(), rows: done };
    },
  });
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const f = first as { t: number; rows: number } | null;
  return {
    // Load-independent: what the work costs in CPU time (model loading included).
    perCpuSecond: report.computedRows / ((cpu.user + cpu.system) / 1e6),
    endToEnd: report.computedRows / ((t1 - t0) / 1000),
    // From the first finished chunk on: model loading and worker start-up left out.
    steady: f && t1 > f.t ? (report.computedRows - f.rows) / ((t1 - f.t) / 1000) : 0,
  };
}

/** Median time of 5 loads of a cached entry, without and with checksum verification. */
async function readBack(
  dataset: Dataset,
  encoder: string,
  cacheDir: string,
  dtype: FeatureDtype,
): Promise<{ ms: number; msVerified: number }> {
  const time = async (verify: boolean): Promise<number> => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await loadFeatures(dataset, encoder, { cacheDir, dtype, verify });
      runs.push(performance.now() - t);
    }
    return runs.sort((a, b) => a - b)[2];
  };
  return { ms: await time(false), msVerified: await time(true) };
}

/**
 * Replays cached MobileNetV2 rows as an encoder, so a float16 entry of the same matrix can be
 * written without running the CNN a third time (the read path does not care which encoder wrote it).
 */
function registerReplay(features: FeatureMatrix): void {
  const row = new Map(features.ids.map((id, i) => [id, i]));
  registerEncoder('bench-replay-mobilenet_v2', () => ({
    name: 'bench-replay-mobilenet_v2',
    modality: 'poster',
    key: 'bench-replay',
    dim: features.dim,
    rowShape: [features.dim],
    async init() {},
    async encode(records) {
      return records.map((r) => {
        const i = row.get(r.id)!;
        return features.data.slice(i * features.dim, (i + 1) * features.dim);
      });
    },
    dispose() {},
  }));
}

export async function benchFeatures(): Promise<BenchRow[]> {
  if (!existsSync(SAMPLE)) throw new Error(`the sample dataset is not at ${SAMPLE}`);
  process.env.MMGENRE_QUIET = '1';
  const full = await loadDataset(SAMPLE);
  const n = Number(process.env.MMGENRE_BENCH_POSTERS ?? full.records.length);
  const dataset: Dataset = { ...full, records: full.records.slice(0, n) };
  const load = `load average ${loadavg()[0].toFixed(1)} at start`;
  const rows: BenchRow[] = [];
  const caches: string[] = [];
  const newCache = (): string => {
    caches.push(mkdtempSync(join(tmpdir(), 'mmgenre-bench-features-')));
    return caches.at(-1)!;
  };
  try {
    let cacheDir = '';
    for (const workers of [1, 2]) {
      cacheDir = newCache();
      const r = await extractionRate(dataset, workers, cacheDir);
      rows.push({
        name: `mobilenet_v2 posters/s, ${workers} worker${workers > 1 ? 's' : ''}`,
        value: r.steady,
        unit: 'posters/s',
        note: `steady state, ${n} sample posters (target ≥ 40 with 2 workers; ~22/s per core expected); ${load}`,
      });
      rows.push({
        name: `mobilenet_v2 posters per CPU-second, ${workers} worker${workers > 1 ? 's' : ''}`,
        value: r.perCpuSecond,
        unit: 'posters/cpu-s',
        note: 'posters / process CPU time: what one unshared core would do, whatever else the machine runs',
      });
      rows.push({
        name: `mobilenet_v2 posters/s end to end, ${workers} worker${workers > 1 ? 's' : ''}`,
        value: r.endToEnd,
        unit: 'posters/s',
        note: 'includes loading the model in the main thread and in each worker',
      });
    }
    // The same network exported to ONNX (features equal to 1e-5): the path past tfjs-wasm's speed.
    const onnx = await extractionRate(dataset, 2, newCache(), 'mobilenet_v2_onnx');
    rows.push({
      name: 'mobilenet_v2_onnx posters/s, 2 workers',
      value: onnx.steady,
      unit: 'posters/s',
      note: `steady state, ${n} sample posters, onnxruntime-node (target ≥ 40 with 2 workers); ${load}`,
    });
    rows.push({
      name: 'mobilenet_v2_onnx posters/s end to end, 2 workers',
      value: onnx.endToEnd,
      unit: 'posters/s',
      note: 'includes loading (and, the first time, exporting) the model in each worker',
    });
    const f32 = await readBack(dataset, 'mobilenet_v2', cacheDir, 'float32');
    const entry = listEntries(cacheDir)[0];
    const viewRuns: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      readMatrix(entry.dir, readManifest(entry.dir)!, false);
      viewRuns.push(performance.now() - t);
    }
    rows.push({
      name: `read ${n}×1280 float32 matrix (manifest + view)`,
      value: viewRuns.sort((a, b) => a - b)[2],
      unit: 'ms',
      note: 'readManifest + readMatrix: one file read into one ArrayBuffer, no per-row parse; median of 5',
    });
    const features = await loadFeatures(dataset, 'mobilenet_v2', { cacheDir });
    registerReplay(features);
    const f16Cache = newCache();
    await extractFeaturesWithReport(dataset, 'bench-replay-mobilenet_v2', {
      cacheDir: f16Cache,
      dtype: 'float16',
      workers: 0,
      progress: false,
    });
    const f16 = await readBack(dataset, 'bench-replay-mobilenet_v2', f16Cache, 'float16');
    for (const [dtype, r] of [
      ['float32', f32],
      ['float16', f16],
    ] as const) {
      const mb = (n * features.dim * (dtype === 'float16' ? 2 : 4)) / 2 ** 20;
      rows.push({
        name: `read back ${n}×${features.dim} ${dtype}`,
        value: r.ms,
        unit: 'ms',
        note: `${mb.toFixed(1)} MiB; loadFeatures without checksums, median of 5: includes building the encoder to learn its key (mobilenet_v2 loads its model for that) and the stat freshness check`,
      });
      rows.push({
        name: `read back ${n}×${features.dim} ${dtype}, verified`,
        value: r.msVerified,
        unit: 'ms',
        note: 'every chunk’s sha256 checked (the default)',
      });
    }
  } finally {
    for (const c of caches) rmSync(c, { recursive: true, force: true });
  }
  writeJsonAtomic(fileURLToPath(new URL('./results/features.json', import.meta.url)), {
    date: new Date().toISOString(),
    rows,
  });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchFeatures()) {
    process.stdout.write(
      `${r.name.padEnd(48)} ${r.value.toFixed(2).padStart(10)} ${r.unit.padEnd(10)} ${r.note ?? ''}\n`,
    );
  }
}
