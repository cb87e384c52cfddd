import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { specFor } from '../../src/models/index.js';
import { parseConfig, trainOnData } from '../../src/train/index.js';
import { Forward } from '../../src/predict/forward.js';
import { loadRun } from '../../src/train/index.js';
import { formatPrediction } from '../../src/predict/format-prediction.js';
import type { Prediction } from '../../src/predict/types.js';
import { tempDir } from '../helpers/shared.js';
import { posterPlotData } from './fixture.js';

const { dims: DIMS, data, inputs } = posterPlotData([24, 10], 9);
const config = parseConfig({
  name: 'contrib-test',
  inputs: [
    { id: 'poster', encoder: 'synthetic', normalize: 'none' },
    { id: 'plot', encoder: 'synthetic', normalize: 'none' },
  ],
  model: { type: 'gmu' },
  training: { epochs: 3, patience: 0, lr: 0.01, seed: 4 },
});

async function gmuRun(hidden: number[]): Promise<string> {
  const out = join(tempDir(), 'gmu');
  const spec = specFor(
    'gmu',
    { project: 8, units: 8, hidden, dropout: 0.3 },
    { labels: data.labels, inputs },
  );
  const r = await trainOnData(config, spec, data, [{ kind: 'none' }, { kind: 'none' }], {
    out,
    progress: false,
  });
  assert.equal(r.status, 'done');
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

test("GMU per-genre contributions: the modalities' logit parts plus the bias give each probability", async () => {
  const run = await loadRun(await gmuRun([]));
  const forward = new Forward(run.model, run.spec);
  const n = 12;
  const L = run.labels.length;
  const x = data.test!.x.map((m, k) => m.slice(0, n * DIMS[k]));
  const missing = [new Uint8Array(n), new Uint8Array(n)];
  missing[0][0] = 1; // movie 0 has no poster
  x[0].fill(0, 0, DIMS[0]);
  const r = forward.run(x, n, DIMS);
  assert.ok(r.genreParts, 'a linear GMU head gives per-genre parts');
  const parts = r.genreParts;
  assert.equal(parts.length, n * 2 * L);
  const bias = run.model.getLayer('output_logits').getWeights()[1].dataSync();
  for (let row = 0; row < n; row++)
    for (let j = 0; j < L; j++) {
      const poster: number = parts[(row * 2 + 0) * L + j];
      const plot: number = parts[(row * 2 + 1) * L + j];
      assert.ok(
        Math.abs(sigmoid(poster + plot + bias[j]) - r.probs[row * L + j]) < 1e-4,
        `row ${row} genre ${j}`,
      );
      if (row === 0) assert.equal(poster, 0, 'an absent poster drives nothing');
    }
  // Not every genre is driven by one modality alone.
  assert.ok(parts.some((v) => v !== 0));
  run.model.dispose();
});

test('no per-genre parts when the classifier has hidden layers (no exact split), the gate share remains', async () => {
  const run = await loadRun(await gmuRun([6]));
  const n = 4;
  const r = new Forward(run.model, run.spec).run(
    data.test!.x.map((m, k) => m.slice(0, n * DIMS[k])),
    n,
    DIMS,
  );
  assert.equal(r.genreParts, undefined);
  assert.ok(r.shares);
  run.model.dispose();
});

test("the terminal rendering lists each genre's parts and shares", () => {
  const pred: Prediction = {
    scores: { Drama: 0.8, Horror: 0.1 },
    genres: ['Drama'],
    thresholds: { kind: '0.5', values: { Drama: 0.5, Horror: 0.5 } },
    inputsUsed: ['poster', 'plot'],
    inputsMissing: [],
    inputsIgnored: [],
    contributions: { poster: 0.3, plot: 0.7 },
    genreContributions: { Drama: { poster: 0.5, plot: 1.5 }, Horror: { poster: -0.2, plot: -0.6 } },
  };
  const text = formatPrediction(pred);
  assert.match(text, /what drove each genre/);
  assert.match(text, /\* Drama\s+\+0\.50\s+\+1\.50\s+25%\s+75%/);
  assert.match(text, /Horror\s+-0\.20\s+-0\.60\s+25%\s+75%/);
});
