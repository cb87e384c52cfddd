/**
 * A real tiny run for the predict and serve tests: a synthetic MM-IMDB-layout dataset (real JPEG
 * posters, real plots), features from the real encoders (MobileNetV2 on onnxruntime, mean GloVe),
 * an MLP trained for a few epochs with the trainer's library API. Plus a GMU run trained on
 * synthetic features with the same encoders' sizes, for the gate.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { synthesizeDataset } from '../../src/data/synth.js';
import { env } from '../../src/env.js';
import { getModelFamily, specFor, type InputSpec } from '../../src/models/index.js';
import { parseConfig, trainFromConfig, trainOnData } from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { tempDir } from '../helpers/shared.js';

export interface TinyRun {
  root: string;
  dataDir: string;
  runsDir: string;
  runDir: string;
  /** Where the GloVe binary cache lives (the caller's env.cacheDir before the swap). */
  gloveCache: string;
}

/** Features go to a private cache; the GloVe binary cache is shared (it takes ~20 s to build once). */
export function useTempFeatureCache(): string {
  const gloveCache = env.cacheDir;
  env.cacheDir = tempDir('mmgenre-predict-cache-');
  return gloveCache;
}

export async function trainTinyRun(): Promise<TinyRun> {
  process.env.MMGENRE_QUIET = '1';
  const gloveCache = useTempFeatureCache();
  const root = tempDir('mmgenre-predict-');
  const dataDir = join(root, 'data');
  await synthesizeDataset({ out: dataDir, n: 60, seed: 7, width: 96, silent: true });
  const runsDir = join(root, 'runs');
  mkdirSync(runsDir);
  const config = parseConfig({
    name: 'tiny-mlp',
    inputs: [
      { id: 'poster', encoder: 'mobilenet_v2_onnx' },
      { id: 'plot', encoder: 'glove-mean', options: { cacheDir: gloveCache } },
    ],
    model: { type: 'mlp', hidden: [16] },
    training: { epochs: 3, patience: 0 },
  });
  const runDir = join(runsDir, 'tiny-mlp');
  await trainFromConfig(config, dataDir, { out: runDir, progress: false, extractWorkers: 0 });
  return { root, dataDir, runsDir, runDir, gloveCache };
}

export function hasGmu(): boolean {
  try {
    getModelFamily('gmu');
    return true;
  } catch {
    return false;
  }
}

/** A GMU over (poster: mobilenet_v2_onnx 1280-d, plot: glove-mean 100-d), trained on synthetic features. */
export async function trainTinyGmu(out: string, gloveCache: string): Promise<string> {
  const labels = ['Drama', 'Comedy', 'Action', 'Horror'];
  const data = syntheticTrainingData({ sizes: { train: 64, dev: 16, test: 16 }, dims: [1280, 100], labels });
  const inputs: InputSpec[] = [
    {
      id: 'poster',
      modality: 'poster',
      source: { kind: 'features', encoder: 'mobilenet_v2_onnx', normalize: 'none' },
      shape: [1280],
      dtype: 'float32',
    },
    {
      id: 'plot',
      modality: 'plot',
      source: {
        kind: 'features',
        encoder: 'glove-mean',
        options: { cacheDir: gloveCache },
        normalize: 'none',
      },
      shape: [100],
      dtype: 'float32',
    },
  ];
  const config = parseConfig({
    name: 'tiny-gmu',
    inputs: [
      { id: 'poster', encoder: 'mobilenet_v2_onnx', normalize: 'none' },
      { id: 'plot', encoder: 'glove-mean', options: { cacheDir: gloveCache }, normalize: 'none' },
    ],
    model: { type: 'gmu', units: 8 },
    training: { epochs: 2, patience: 0 },
  });
  const spec = specFor('gmu', { units: 8 }, { labels, inputs });
  await trainOnData(config, spec, data, [{ kind: 'none' }, { kind: 'none' }], { out, progress: false });
  return out;
}
