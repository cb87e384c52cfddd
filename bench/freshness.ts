/**
 * What each feature-cache freshness mode costs on a warm cache: loading a finished entry of the
 * sample's 1,645 posters with 'stat' (one stat per poster) and with 'content' (also the sha256
 * of every poster's bytes), median of 5 loads each. The entry is written by a tiny encoder that
 * reads nothing (the check does not depend on the encoder). Run: `npm run bench freshness`.
 * Posters are in the page cache after the first pass: cold disks read slower.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/load.js';
import { extractFeatures, loadFeatures } from '../src/features/extract.js';
import { registerEncoder } from '../src/features/registry.js';
import { posterContentHashes, type Freshness } from '../src/features/store.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const SAMPLE = fileURLToPath(new URL('../../shared/datasets/mmimdb-sample', import.meta.url));
const ENCODER = 'bench-freshness-noop';

registerEncoder(ENCODER, () => ({
  name: ENCODER,
  modality: 'poster',
  key: 'bench-freshness-noop|v1',
  dim: 1,
  rowShape: [1],
  inProcess: true,
  async init() {},
  async encode(records) {
    return records.map(() => new Float32Array([1]));
  },
  dispose() {},
}));

async function median(n: number, run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)];
}

export async function benchFreshness(): Promise<BenchRow[]> {
  const dataset = await loadDataset(SAMPLE);
  const posters = dataset.records.filter((r) => r.posterPath);
  const mb = posters.reduce((a, r) => a + statSync(r.posterPath!).size, 0) / 2 ** 20;
  const cacheDir = mkdtempSync(join(tmpdir(), 'mmgenre-bench-freshness-'));
  try {
    await extractFeatures(dataset, ENCODER, { cacheDir, workers: 0, progress: false });
    const load = (freshness: Freshness) => () =>
      loadFeatures(dataset, ENCODER, { cacheDir, freshness, verify: false });
    await load('content')(); // posters into the page cache
    const statMs = await median(5, load('stat'));
    const contentMs = await median(5, load('content'));
    const hashMs = await median(5, () => posterContentHashes(dataset.records, 'poster'));
    const note = `${posters.length} posters, ${mb.toFixed(0)} MiB, warm page cache`;
    const rows: BenchRow[] = [
      { name: 'load cached features, stat freshness', value: statMs, unit: 'ms', note },
      { name: 'load cached features, content freshness', value: contentMs, unit: 'ms', note },
      { name: 'hash every poster (content check alone)', value: hashMs, unit: 'ms', note },
      { name: 'poster hashing rate', value: mb / (hashMs / 1000), unit: 'MiB/s', note },
      {
        name: 'content check at MM-IMDB size (25,959 posters), estimated',
        value: ((hashMs / posters.length) * 25_959) / 1000,
        unit: 's',
        note: 'the per-poster time above × 25,959',
      },
    ];
    writeJsonAtomic(fileURLToPath(new URL('./results/freshness.json', import.meta.url)), {
      date: new Date().toISOString(),
      rows,
    });
    return rows;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await benchFreshness())
    console.log(`${r.name}: ${r.value.toFixed(1)} ${r.unit} (${r.note})`);
}
