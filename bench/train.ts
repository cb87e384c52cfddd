/**
 * Training speed: a head epoch on cached features (967 movies, 1280 + 100 → 512 → 23, batch 32)
 * against PyTorch 1.13's 0.11 s on this machine (issue 5's anchor), with the trainer's custom
 * loop and, for comparison, tfjs-layers' `trainOnBatch`; plus the cost of a checkpoint.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeJsonAtomic } from '../src/util/atomic.js';
import { engineInfo, initEngine, tf } from '../src/engine/index.js';
import { buildModel, specFor } from '../src/models/index.js';
import { fit, parseConfig, syntheticTrainingData, trainOnData } from '../src/train/index.js';
import type { BenchRow } from './types.js';

const ANCHOR_S = 0.11;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchTrain(): Promise<BenchRow[]> {
  await initEngine();
  const data = syntheticTrainingData({
    dims: [1280, 100],
    sizes: { train: 967, dev: 174, test: 0 },
    labels: Array.from({ length: 23 }, (_, i) => `g${i}`),
    seed: 3,
  });
  const config = parseConfig({
    name: 'bench-head',
    inputs: [
      { id: 'poster', encoder: 'mobilenet_v2' },
      { id: 'plot', encoder: 'glove-mean' },
    ],
    model: { type: 'mlp', hidden: [512], dropout: 0.5 },
    training: { epochs: 8, batchSize: 32, patience: 0, classWeights: 'balanced' },
  });
  const { type, ...options } = config.model;
  const spec = specFor(type, options, {
    labels: data.labels,
    inputs: [
      {
        id: 'poster',
        modality: 'poster',
        source: { kind: 'features', encoder: 'mobilenet_v2' },
        shape: [1280],
        dtype: 'float32',
      },
      {
        id: 'plot',
        modality: 'plot',
        source: { kind: 'features', encoder: 'glove-mean' },
        shape: [100],
        dtype: 'float32',
      },
    ],
  });
  const rows: BenchRow[] = [];
  const machine = `${engineInfo().backend}, simd ${engineInfo().simd}, ${engineInfo().threads} thread(s)`;

  const r = await fit(spec, data, { settings: config.training, progress: false });
  const epochs = r.history.slice(1); // the first epoch includes kernel warm-up
  const head = median(epochs.map((h) => h.trainSeconds));
  rows.push({
    name: 'head epoch (custom loop)',
    value: head,
    unit: 's/epoch',
    note: `${(head / ANCHOR_S).toFixed(2)}× PyTorch's ${ANCHOR_S} s (target ≤ 1.5×); 967 movies, 1380→512→23, batch 32; ${machine}`,
  });
  rows.push({
    name: 'head epoch incl. dev eval',
    value: median(epochs.map((h) => h.seconds)),
    unit: 's/epoch',
    note: '174 dev movies predicted + all metrics each epoch',
  });
  r.built.model.dispose();

  // The same model through tfjs-layers' trainOnBatch (one await per batch) for comparison.
  const { model } = buildModel(spec, { seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  const x = data.train.x.map((m, k) => tf.tensor2d(m, [data.train.n, data.dims[k]]));
  const y = tf.tensor2d(Float32Array.from(data.train.y), [data.train.n, 23]);
  const times: number[] = [];
  for (let e = 0; e < 4; e++) {
    const t0 = performance.now();
    for (let s = 0; s < data.train.n; s += 32) {
      const size = Math.min(32, data.train.n - s);
      const xb = x.map((m, k) => tf.slice(m, [s, 0], [size, data.dims[k]]));
      const yb = tf.slice(y, [s, 0], [size, 23]);
      await model.trainOnBatch(xb, yb);
      tf.dispose([...xb, yb]);
    }
    times.push((performance.now() - t0) / 1000);
  }
  tf.dispose([...x, y]);
  model.dispose();
  rows.push({
    name: 'head epoch (trainOnBatch)',
    value: median(times.slice(1)),
    unit: 's/epoch',
    note: 'tfjs-layers trainOnBatch, same model and data, for comparison',
  });

  // Checkpoint + metrics written each epoch by a run directory.
  const dir = mkdtempSync(join(tmpdir(), 'mmgenre-bench-train-'));
  try {
    const withDir = await trainOnData(
      parseConfig({ ...config, training: { ...config.training, epochs: 4 } }),
      spec,
      data,
      [{ kind: 'none' }, { kind: 'none' }],
      { out: join(dir, 'run'), progress: false },
    );
    const overhead = median(withDir.fit.history.slice(1).map((h) => h.seconds)) - rows[1].value;
    rows.push({
      name: 'checkpoint per epoch',
      value: Math.max(0, overhead),
      unit: 's/epoch',
      note: 'weights + Adam state + best weights, one atomic fsynced file (~11 MB)',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeJsonAtomic(join(import.meta.dirname ?? '.', 'results', 'train.json'), rows);
  return rows;
}
