import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specFor } from '../../src/models/index.js';
import { parseConfig, trainOnData } from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { readRunEval } from '../../src/eval/run-eval.js';
import { runCli, tempDir } from '../helpers/shared.js';

test('compare reads a training run directory (the trainer writes dev and test metrics in its own eval.json)', async () => {
  const data = syntheticTrainingData({
    dims: [16],
    sizes: { train: 120, dev: 40, test: 50 },
    noise: 2,
    seed: 3,
  });
  const config = parseConfig({
    name: 'compare-run',
    inputs: [{ id: 'poster', encoder: 'synthetic' }],
    model: { type: 'logistic' },
    training: { epochs: 2, patience: 0, lr: 0.01, seed: 1 },
  });
  const { type, ...options } = config.model;
  const spec = specFor(type, options, {
    labels: data.labels,
    inputs: [
      {
        id: 'poster',
        modality: 'poster',
        source: { kind: 'features', encoder: 'synthetic' },
        shape: [16],
        dtype: 'float32',
      },
    ],
  });
  const out = join(tempDir(), 'run');
  await trainOnData(config, spec, data, [{ kind: 'none' }], { out, progress: false });
  const trainerEval = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as {
    test: { at05: { f1: { macro: number; micro: number } }; tuned: { f1: { macro: number } } };
  };

  const file = readRunEval(join(out, 'eval.json'));
  assert.equal(file.n, 50);
  assert.equal(file.split, 'test');
  assert.deepEqual(
    file.variants.map((v) => [v.kind, v.metrics.f1.macro]),
    [
      ['default', trainerEval.test.at05.f1.macro],
      ['tuned', trainerEval.test.tuned.f1.macro],
    ],
  );
  assert.ok(file.allNegative.hammingLoss > 0 && file.allNegative.hammingLoss < 1);

  const cli = runCli(['compare', out]);
  assert.equal(cli.status, 0, cli.stderr);
  const row = cli.stdout.split('\n').find((l) => l.includes('run') && / 0\.5 /.test(l));
  assert.ok(row, cli.stdout);
  assert.ok(row.includes(trainerEval.test.at05.f1.macro.toFixed(3)), row);
  assert.ok(row.includes(trainerEval.test.at05.f1.micro.toFixed(3)), row);
  assert.match(row, /\(50 movies\)/);
});

test('compare names what it cannot read', () => {
  const dir = tempDir();
  const bad = join(dir, 'eval.json');
  writeFileSync(bad, JSON.stringify({ hello: 1 }));
  const cli = runCli(['compare', bad]);
  assert.notEqual(cli.status, 0);
  assert.match(cli.stderr, /not an mmgenre evaluation file.*or a training run's eval\.json/);
});
