/**
 * The paper's rows from the paper's own file: a small MM-IMDB HDF5 in the authors' exact layout
 * (int32 images N×3×256×160, Fuel's split attribute with its null-reference column, VLEN
 * sequences, 300-d word2vec, 4096-d VGG) trains every configs/paper-*.yaml through the CLI,
 * prints them beside Table 2, predicts from the file, and its posters feed the CNN encoders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { writePaperLayoutHdf5 } from '../../src/data/hdf5-paper-writer.js';
import { loadMmimdbHdf5 } from '../../src/data/hdf5.js';
import { MMIMDB_GENRES } from '../../src/data/genres.js';
import { posterInputs } from '../../src/vision/image.js';
import { datasetStats } from '../../src/data/stats.js';
import { paperConfigs } from '../../src/experiments/run-all.js';
import { runCli, tempDir } from '../helpers/shared.js';

const N = 160;
const SIZES = { train: 96, dev: 24, test: 40 };
const [C, H, W] = [3, 256, 160];

/** Deterministic data where genres show in every input, so one epoch learns something. */
async function writeFile(path: string): Promise<{ sequences: Int32Array[] }> {
  const L = MMIMDB_GENRES.length;
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const genres = new Uint8Array(N * L);
  const features = new Float32Array(N * 300);
  const vgg = new Float32Array(N * 4096);
  const sequences: Int32Array[] = [];
  const main = (i: number): number => i % 4;
  for (let i = 0; i < N; i++) {
    genres[i * L + main(i)] = 1;
    if (i % 3 === 0) genres[i * L + 4 + (i % 5)] = 1;
    for (let d = 0; d < 300; d++) features[i * 300 + d] = rnd() - 0.5 + (d % 4 === main(i) ? 1 : 0);
    for (let d = 0; d < 4096; d++)
      vgg[i * 4096 + d] = Math.max(0, rnd() - 0.5 + (d % 4 === main(i) ? 0.6 : 0));
    sequences.push(
      Int32Array.from({ length: 5 + (i % 30) }, (_, k) => 2 + main(i) * 10 + ((k * 7 + i) % 10)),
    );
  }
  await writePaperLayoutHdf5(path, {
    ids: Array.from({ length: N }, (_, i) => `tt${String(1000000 + i)}`),
    labels: [...MMIMDB_GENRES],
    genres,
    features: { dim: 300, data: features },
    vggFeatures: { dim: 4096, data: vgg },
    sequences,
    images: {
      shape: [C, H, W],
      dtype: 'int32',
      rows(start, stop) {
        const out = new Int32Array((stop - start) * C * H * W);
        for (let i = start; i < stop; i++)
          for (let k = 0; k < C * H * W; k++) out[(i - start) * C * H * W + k] = (main(i) * 60 + k) % 256;
        return out;
      },
    },
    splitSizes: SIZES,
  });
  return { sequences };
}

test('a file in the paper authors\u2019 exact layout trains every paper config through the CLI and predicts', async () => {
  const dir = tempDir();
  const file = join(dir, 'multimodal_imdb.hdf5');
  const { sequences } = await writeFile(file);
  const cache = join(dir, 'cache');

  // The layout is the authors': VLEN int32 sequences, int32 images, Fuel's split with references.
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'r');
  try {
    const seq = f.get('sequences') as InstanceType<typeof h5wasm.Dataset>;
    assert.equal(seq.metadata.type, 9, 'sequences is variable-length');
    assert.equal(seq.metadata.vlen_type?.size, 4);
    const images = f.get('images') as InstanceType<typeof h5wasm.Dataset>;
    assert.deepEqual(images.shape, [N, C, H, W]);
    assert.equal(images.metadata.type, 0);
    assert.equal(images.metadata.size, 4, 'int32 pixels');
    const split = f.attrs.split;
    const members = split.metadata.compound_type!.members.map((m) => [m.name, m.type]);
    assert.deepEqual(members, [
      ['split', 3],
      ['source', 3],
      ['start', 0],
      ['stop', 0],
      ['indices', 7],
      ['available', 0],
      ['comment', 3],
    ]);
  } finally {
    f.close();
  }
  const ds = await loadMmimdbHdf5(file);
  try {
    assert.deepEqual(
      [ds.splits.train.length, ds.splits.dev.length, ds.splits.test.length],
      [SIZES.train, SIZES.dev, SIZES.test],
    );
    assert.deepEqual(Array.from(ds.sequences()!.sequences[37]), Array.from(sequences[37]));
    // Every poster encoder reads the file's images as posters: H×W×3 pixels of the row.
    const [poster] = await posterInputs([ds.records[5]]);
    assert.ok(poster && typeof poster === 'object' && 'raw' in poster, 'an HDF5 row is a poster');
    assert.deepEqual([poster.width, poster.height], [W, H]);
    assert.equal(poster.data[3 * 7 + 1], (1 * 60 + H * W + 7) % 256, 'channel 1 of pixel 7');
    // data stats: plot lengths from `sequences`, poster sizes from `images`.
    const stats = await datasetStats(ds);
    assert.equal(stats.plotWords.count, N);
    assert.equal(stats.plotWords.min, 5);
    assert.equal(stats.plotWords.max, 34);
    assert.deepEqual(stats.posters.commonSizes, [{ width: W, height: H, count: N }]);
  } finally {
    ds.close();
  }

  const env = { MMGENRE_CACHE_DIR: cache };

  const out = join(dir, 'runs');
  const r = runCli(
    ['run-all', '--data', file, '--configs', 'paper', '--epochs', '1', '--out', out, '--json'],
    {
      env,
      timeoutMs: 600_000,
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as {
    entries: Array<{ config: string; ok: boolean }>;
    paper: Array<{
      config: string;
      likeForLike: boolean;
      note: string;
      ours: { f1Macro: { low: number; high: number } };
    }>;
  };
  const names = paperConfigs();
  assert.ok(names.length >= 6, names.join(','));
  assert.deepEqual(summary.entries.map((e) => [e.config, e.ok]).sort(), names.map((n) => [n, true]).sort());
  assert.deepEqual(summary.paper.map((p) => p.config).sort(), [...names].sort());
  for (const p of summary.paper) {
    assert.equal(p.likeForLike, false, 'a 40-movie test split is not the paper\u2019s');
    assert.match(p.note, /test has 40 movies/);
    assert.ok(p.ours.f1Macro.low <= p.ours.f1Macro.high);
  }
  assert.match(
    readFileSync(join(out, 'summary.md'), 'utf8'),
    /paper: GMU\s+0\.617\s+0\.630\s+0\.630\s+0\.541/,
  );

  const preds = join(dir, 'paper-gmu.jsonl');
  const p = runCli(['predict', '--model', join(out, 'paper-gmu'), '--data', file, '--out', preds], { env });
  assert.equal(p.status, 0, p.stderr);
  assert.ok(existsSync(preds));
  assert.equal(readFileSync(preds, 'utf8').trim().split('\n').length, SIZES.test);

  // A config that reads plot text says what to train instead, without a stack trace.
  const bad = runCli(['train', '--config', 'text-mlp-meanglove', '--data', file, '--out', join(dir, 'bad')], {
    env,
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /holds no plot text/);
  assert.match(bad.stderr, /paper-\*/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});
