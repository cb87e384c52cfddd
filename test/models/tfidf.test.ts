import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { synthesizeDataset } from '../../src/data/synth.js';
import { loadDataset } from '../../src/data/load.js';
import { env } from '../../src/env.js';
import '../../src/models/index.js';
import { fitTfidfOptions } from '../../src/features/preparers.js';
import type { ModelSpec } from '../../src/models/spec.js';
import { parseConfig } from '../../src/runs/config.js';
import { trainFromConfig } from '../../src/train/pipeline.js';
import { tempDir } from '../helpers/shared.js';

const LABELS = ['Drama', 'Comedy', 'Horror', 'Romance'];

test('tfidf-linear: TF-IDF fitted on train only, and a linear model on it learns the genres', async () => {
  const root = tempDir('mmgenre-tfidf-');
  const data = join(root, 'data');
  await synthesizeDataset({ out: data, n: 160, seed: 4, labels: LABELS, width: 64, silent: true });
  const dataset = await loadDataset(data);

  // The fitted vocabulary comes from the training plots alone.
  const fitted = (await fitTfidfOptions({ analyzer: 'word', ngramRange: [1, 1] }, dataset)) as {
    state: { vocabulary: string[] };
  };
  const train = new Set(dataset.splits.train);
  const trainText = dataset.records
    .filter((r) => train.has(r.id))
    .map((r) => r.plot?.toLowerCase() ?? '')
    .join(' ');
  assert.ok(fitted.state.vocabulary.length > 20);
  for (const term of fitted.state.vocabulary) assert.ok(trainText.includes(term), `'${term}' not in train`);

  const saved = env.cacheDir;
  env.cacheDir = join(root, 'cache');
  try {
    const config = parseConfig({
      name: 'tfidf-test',
      inputs: [
        {
          id: 'words',
          modality: 'plot',
          encoder: 'tfidf',
          options: { analyzer: 'word', ngramRange: [1, 2], maxFeatures: 3000 },
          normalize: 'none',
        },
        {
          id: 'chars',
          modality: 'plot',
          encoder: 'tfidf',
          options: { analyzer: 'char_wb', ngramRange: [3, 3], maxFeatures: 3000 },
          normalize: 'none',
        },
      ],
      model: { type: 'tfidf-linear' },
      training: { epochs: 25, lr: 0.05, patience: 0, batchSize: 16, classWeights: 'balanced' },
    });
    const r = await trainFromConfig(config, data, {
      out: join(root, 'run'),
      progress: false,
      extractWorkers: 0,
    });
    assert.equal(r.status, 'done');
    const spec = JSON.parse(readFileSync(join(r.dir, 'spec.json'), 'utf8')) as ModelSpec;
    assert.equal(spec.family, 'tfidf-linear');
    assert.equal(spec.inputs.length, 2);
    assert.ok(spec.inputs.every((i) => i.shape[0] > 100 && i.shape[0] <= 3000));
    // The synthetic set uses 4 of the 23 genres, so macro-F1 over 23 is meaningless: judge the
    // ranking (ROC-AUC over the genres present) and micro-F1.
    const evalJson = JSON.parse(readFileSync(join(r.dir, 'eval.json'), 'utf8')) as {
      test: { at05: { rocAuc: { macro: number } } };
    };
    assert.ok(evalJson.test.at05.rocAuc.macro > 0.75, `test ROC-AUC ${evalJson.test.at05.rocAuc.macro}`);
    assert.ok(r.test!.at05.micro > 0.6, `test micro-F1 ${r.test!.at05.micro}`);
  } finally {
    env.cacheDir = saved;
  }
});

test('tfidf-linear: another flat input (the mean GloVe vector) joins the n-grams in one linear layer', async () => {
  const { specFor } = await import('../../src/models/registry.js');
  const tfidf = {
    id: 'plot_words',
    modality: 'plot' as const,
    source: {
      kind: 'features' as const,
      encoder: 'tfidf',
      options: { state: { options: { analyzer: 'word', ngramRange: [1, 2] }, vocabulary: ['a'], idf: [1] } },
    },
    shape: [1],
    dtype: 'float32' as const,
  };
  const glove = {
    ...tfidf,
    id: 'plot',
    source: { kind: 'features' as const, encoder: 'glove-mean' },
    shape: [100],
  };
  const spec = specFor('tfidf-linear', { inputDropout: 0.2 }, { labels: LABELS, inputs: [tfidf, glove] });
  assert.equal(spec.title, 'Linear on TF-IDF (word 1–2-grams) + glove-mean');
  const concat = spec.nodes.find((n) => n.op === 'concat');
  assert.deepEqual(concat?.inputs, ['plot_words', 'plot']);
  assert.deepEqual(
    spec.nodes.filter((n) => n.op !== 'concat').map((n) => n.op),
    ['dropout', 'output'],
    'linear: no hidden layer',
  );
});
