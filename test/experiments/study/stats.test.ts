import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../../src/eval/metrics.js';
import { mulberry32 } from '../../../src/util/random.js';
import {
  formatSpread,
  macroAucWeighted,
  pairedBootstrapMacroAuc,
  spread,
} from '../../../src/experiments/study/index.js';

test('spread over seeds: mean, sample std (n − 1), min, max', () => {
  const s = spread([0.6, 0.7, 0.8]);
  assert.ok(Math.abs(s.mean - 0.7) < 1e-12);
  assert.ok(Math.abs(s.std - 0.1) < 1e-12);
  assert.deepEqual([s.min, s.max, s.n], [0.6, 0.8, 3]);
  assert.equal(spread([0.5]).std, 0);
  assert.equal(formatSpread(s, 3), '0.700 ± 0.100');
  assert.equal(formatSpread(spread([0.25])), '0.2500');
  assert.equal(formatSpread(spread([])), '–');
});

function randomCase(n: number, L: number, seed: number, signal: number) {
  const rand = mulberry32(seed);
  const y = Array.from({ length: n }, () => Float32Array.from({ length: L }, () => (rand() < 0.3 ? 1 : 0)));
  // Scores rounded to 1 decimal: many ties, as real probabilities saturate.
  const p = y.map((row) => row.map((v) => Math.round((signal * v + (1 - signal) * rand()) * 10) / 10));
  return { y, p };
}

test('weighted macro AUC equals the macro AUC of the resampled rows (ties included)', () => {
  const { y, p } = randomCase(60, 5, 1, 0.4);
  assert.ok(
    Math.abs(
      macroAucWeighted(y, p, new Float64Array(60).fill(1)) -
        evaluate(y, p, ['a', 'b', 'c', 'd', 'e']).rocAuc.macro!,
    ) < 1e-12,
  );
  const rand = mulberry32(9);
  const w = new Float64Array(60);
  const rows: number[] = [];
  for (let d = 0; d < 60; d++) {
    const i = Math.floor(rand() * 60);
    w[i]++;
    rows.push(i);
  }
  const expected = evaluate(
    rows.map((i) => y[i]),
    rows.map((i) => p[i]),
    ['a', 'b', 'c', 'd', 'e'],
  ).rocAuc.macro!;
  assert.ok(Math.abs(macroAucWeighted(y, p, w) - expected) < 1e-12);
});

test('paired bootstrap: identical models differ by exactly 0, a better one beyond noise', () => {
  const { y, p } = randomCase(200, 4, 2, 0.5);
  const same = pairedBootstrapMacroAuc(y, p, p, { resamples: 200 });
  assert.deepEqual([same.estimate, same.low, same.high], [0, 0, 0]);
  const noise = randomCase(200, 4, 3, 0).p;
  const d = pairedBootstrapMacroAuc(y, p, noise, { resamples: 300, seed: 5 });
  assert.ok(d.estimate > 0.2 && d.low > 0 && d.low <= d.estimate && d.estimate <= d.high, JSON.stringify(d));
  assert.ok(d.pValue < 0.01);
  // The same seed gives the same interval.
  assert.deepEqual(pairedBootstrapMacroAuc(y, p, noise, { resamples: 300, seed: 5 }), d);
});
