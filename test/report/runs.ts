/**
 * Real run directories for the report tests, written by the trainer itself (trainOnData) on a
 * small synthetic MM-IMDB-layout dataset (real JPEG posters and plots from `data synth`).
 * Features are made from each movie's genres plus noise, so training learns something quickly.
 */
import { join } from 'node:path';
import { synthesizeDataset } from '../../src/data/synth.js';
import { loadDataset } from '../../src/data/load.js';
import type { Dataset, MovieRecord } from '../../src/data/types.js';
import { multiHot } from '../../src/data/genres.js';
import { readPredictions, writePredictions } from '../../src/eval/predictions.js';
import { SeededRandom } from '../../src/util/random.js';
import { specFor } from '../../src/models/registry.js';
import '../../src/models/index.js';
import { parseConfig, type TrainConfig } from '../../src/runs/config.js';
import type { SplitData, TrainingData } from '../../src/train/data.js';
import { trainOnData } from '../../src/train/pipeline.js';
import { versions, type RunInfo } from '../../src/runs/run.js';

export interface ReportFixture {
  dataDir: string;
  dataset: Dataset;
  /** MLP on poster + plot features; its test predictions carry a per-movie `gate` number. */
  gated: string;
  /** Logistic regression; run.json names no dataset (needs --data). */
  plain: string;
}

const DIMS = [12, 6];

function trainingData(dataset: Dataset, seed: number): TrainingData {
  const rng = new SeededRandom(seed);
  const gauss = (): number =>
    Math.sqrt(-2 * Math.log(Math.max(rng.next(), 1e-12))) * Math.cos(2 * Math.PI * rng.next());
  const L = dataset.labels.length;
  const directions = DIMS.map((d) =>
    Array.from({ length: L }, () => Float32Array.from({ length: d }, gauss)),
  );
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  const split = (ids: string[]): SplitData => {
    const recs = ids.map((id) => byId.get(id)).filter((r): r is MovieRecord => r !== undefined);
    const n = recs.length;
    const y = new Uint8Array(n * L);
    const x = DIMS.map((d) => new Float32Array(n * d));
    recs.forEach((r, i) => {
      const hot = multiHot(r.genres, dataset.labels);
      y.set(hot, i * L);
      DIMS.forEach((d, k) => {
        for (let c = 0; c < d; c++) {
          let v = 0.8 * gauss();
          for (let j = 0; j < L; j++) if (hot[j]) v += directions[k][j][c];
          x[k][i * d + c] = v;
        }
      });
    });
    return { ids: recs.map((r) => r.id), n, x, y, missing: DIMS.map(() => new Uint8Array(n)) };
  };
  return {
    labels: dataset.labels,
    dims: DIMS,
    train: split(dataset.splits.train),
    dev: split(dataset.splits.dev),
    test: split(dataset.splits.test),
  };
}

async function train(
  config: TrainConfig,
  data: TrainingData,
  out: string,
  dataset: Dataset,
  withDataPath: boolean,
): Promise<void> {
  const inputs = config.inputs.map((i, k) => ({
    id: i.id,
    modality: i.id as 'poster' | 'plot',
    source: { kind: 'features' as const, encoder: i.encoder, normalize: 'none' as const },
    shape: [DIMS[k]],
    dtype: 'float32' as const,
  }));
  const { type, ...options } = config.model;
  const spec = specFor(type, options, { labels: data.labels, inputs });
  const now = new Date().toISOString();
  const info: RunInfo | undefined = withDataPath
    ? {
        name: config.name,
        status: 'running',
        createdAt: now,
        updatedAt: now,
        data: {
          path: dataset.root,
          name: dataset.name,
          format: dataset.format,
          labels: dataset.labels,
          sizes: { train: data.train.n, dev: data.dev.n, test: data.test!.n },
        },
        features: inputs.map((i, k) => ({
          input: i.id,
          encoder: i.source.encoder,
          dim: DIMS[k],
          missing: {},
        })),
        versions: versions(),
        seed: config.training.seed,
      }
    : undefined;
  const normalizers = DIMS.map(() => ({ kind: 'none' as const }));
  await trainOnData(config, spec, data, normalizers, { out, progress: false, backend: 'cpu' }, info);
}

/** Deterministic gate per movie in [0, 1]: what a GMU writes as the mean z over its hidden units. */
export function addGate(
  runDir: string,
  gate: (id: string, index: number) => number | Record<string, number>,
): void {
  const path = join(runDir, 'predictions-test.jsonl');
  const file = readPredictions(path);
  writePredictions(
    path,
    file.rows.map((r, i) => ({ ...r, gate: gate(r.id, i) })),
  );
}

export async function makeReportFixture(root: string): Promise<ReportFixture> {
  const dataDir = join(root, 'data');
  await synthesizeDataset({ out: dataDir, n: 96, seed: 11, width: 60, silent: true });
  const dataset = await loadDataset(dataDir);
  const data = trainingData(dataset, 5);
  const inputs = [
    { id: 'poster', encoder: 'synthetic-poster', dim: DIMS[0], normalize: 'none' },
    { id: 'plot', encoder: 'synthetic-plot', dim: DIMS[1], normalize: 'none' },
  ];
  const gated = join(root, 'runs', 'tiny-mlp');
  await train(
    parseConfig({
      name: 'tiny-mlp',
      inputs,
      model: { type: 'mlp', hidden: [24], dropout: 0.2 },
      training: { epochs: 5, patience: 0, seed: 3, lr: 0.01, classWeights: 'balanced', maxPosWeight: 10 },
    }),
    data,
    gated,
    dataset,
    true,
  );
  addGate(gated, (_, i) => (Math.sin(i * 1.7) + 1) / 2);
  const plain = join(root, 'runs', 'tiny-logistic');
  await train(
    parseConfig({
      name: 'tiny-logistic',
      inputs,
      model: { type: 'logistic' },
      training: { epochs: 4, patience: 0, seed: 4, lr: 0.02 },
    }),
    data,
    plain,
    dataset,
    false,
  );
  return { dataDir, dataset, gated, plain };
}
