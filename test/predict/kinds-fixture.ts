/**
 * One tiny real run of every kind the shipped configs train, on one shared synthetic dataset:
 * sequence models (GRU, LSTM with pre-truncation), TF-IDF (two fitted vectorizers), poster
 * fine-tuning (trunk activations block_15_add), a mixture of experts and a weighted late fusion
 * of two unimodal runs (its poster expert reads two poster inputs, as the shipped poster-frozen), and
 * a GMU over two poster inputs and the plot (as the shipped fusion-gmu).
 * Tiny models, one or two epochs: the point is the preprocessing, not skill.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { synthesizeDataset } from '../../src/data/synth.js';
import { loadConfig, parseConfig, trainFromConfig } from '../../src/train/index.js';
import { tempDir } from '../helpers/shared.js';
import { useTempFeatureCache } from './fixture.js';

export type RunKind = 'gru' | 'lstm' | 'tfidf' | 'finetune' | 'moe' | 'gmu3' | 'late';

export interface KindRuns {
  dataDir: string;
  runsDir: string;
  runs: Record<RunKind, string>;
}

export async function trainEveryKind(): Promise<KindRuns> {
  process.env.MMGENRE_QUIET = '1';
  const gloveCache = useTempFeatureCache();
  const root = tempDir('mmgenre-predict-kinds-');
  const dataDir = join(root, 'data');
  await synthesizeDataset({ out: dataDir, n: 60, seed: 11, width: 96, silent: true });
  const runsDir = join(root, 'runs');
  mkdirSync(runsDir);
  const glove = { cacheDir: gloveCache };
  // The poster as the shipped poster-frozen and fusion-gmu read it: pooled output + block_15_add mean.
  const posterInputs = [
    { id: 'poster', encoder: 'mobilenet_v2_onnx', normalize: 'zscore' },
    {
      id: 'poster_mid',
      modality: 'poster',
      encoder: 'mobilenet_v2_onnx',
      options: { layer: 'block_15_add', pool: 'mean' },
      normalize: 'zscore',
    },
  ];
  const configs: Record<
    Exclude<RunKind, 'late'> | 'poster-expert' | 'plot-expert',
    Record<string, unknown>
  > = {
    gru: {
      inputs: [
        {
          id: 'plot',
          kind: 'sequence',
          encoder: 'plot-sequences',
          options: { maxLen: 40, minCount: 1, maxWords: 3000, ...glove },
          normalize: 'none',
        },
      ],
      model: { type: 'rnn', cell: 'gru', units: 4, dropout: 0 },
    },
    lstm: {
      inputs: [
        {
          id: 'plot',
          kind: 'sequence',
          encoder: 'plot-sequences',
          options: { maxLen: 25, truncate: 'pre', minCount: 2, maxWords: 3000, ...glove },
          normalize: 'none',
        },
      ],
      model: { type: 'rnn', cell: 'lstm', units: 4, dropout: 0 },
    },
    tfidf: {
      inputs: [
        {
          id: 'plot_words',
          modality: 'plot',
          encoder: 'tfidf',
          options: { analyzer: 'word', ngramRange: [1, 2], maxFeatures: 400, minDf: 2, sublinearTf: true },
          normalize: 'none',
        },
        {
          id: 'plot_chars',
          modality: 'plot',
          encoder: 'tfidf',
          options: { analyzer: 'char_wb', ngramRange: [3, 3], maxFeatures: 400, minDf: 2, sublinearTf: true },
          normalize: 'none',
        },
      ],
      model: { type: 'tfidf-linear' },
    },
    finetune: {
      inputs: loadConfig('poster-finetuned').inputs,
      model: { type: 'finetune', units: 2, hidden: [], dropout: 0 },
    },
    moe: {
      inputs: [
        { id: 'poster', encoder: 'mobilenet_v2_onnx', normalize: 'zscore' },
        { id: 'plot', encoder: 'glove-mean', options: glove, normalize: 'zscore' },
      ],
      model: { type: 'moe', project: 8, expertHidden: [8], dropout: 0 },
    },
    // A GMU over two poster inputs and the plot, as the shipped fusion-gmu reads them.
    gmu3: {
      inputs: [...posterInputs, { id: 'plot', encoder: 'glove-mean', options: glove, normalize: 'zscore' }],
      model: { type: 'gmu', project: 8, units: 8, hidden: [], dropout: 0 },
    },
    // Two poster inputs, as the shipped poster-frozen: a late fusion's expert may read several.
    'poster-expert': {
      inputs: posterInputs,
      model: { type: 'mlp', hidden: [4] },
    },
    'plot-expert': {
      inputs: [{ id: 'plot', encoder: 'glove-mean', options: glove, normalize: 'zscore' }],
      model: { type: 'mlp', hidden: [8] },
    },
  };
  const runs = {} as Record<RunKind, string>;
  for (const [name, c] of Object.entries(configs)) {
    const config = parseConfig({ name, ...c, training: { epochs: 2, patience: 0, batchSize: 16 } });
    const out = join(runsDir, name);
    await trainFromConfig(config, dataDir, { out, progress: false, extractWorkers: 0 });
    if (name in { gru: 1, lstm: 1, tfidf: 1, finetune: 1, moe: 1, gmu3: 1 }) runs[name as RunKind] = out;
  }
  // Late fusion reads its experts' configs by path and finds them trained beside its own run.
  const expertPath = (name: string): string => {
    const path = join(root, `${name}.yaml`);
    writeFileSync(path, stringify({ name, ...configs[name as 'poster-expert'] }));
    return path;
  };
  const late = parseConfig({
    name: 'late',
    inputs: [
      { id: 'poster', encoder: 'mobilenet_v2_onnx', normalize: 'zscore' },
      { id: 'plot', encoder: 'glove-mean', options: glove, normalize: 'zscore' },
    ],
    model: {
      type: 'late',
      mode: 'weighted',
      experts: { poster: expertPath('poster-expert'), plot: expertPath('plot-expert') },
    },
  });
  runs.late = join(runsDir, 'late');
  await trainFromConfig(late, dataDir, { out: runs.late, progress: false, extractWorkers: 0 });
  return { dataDir, runsDir, runs };
}
