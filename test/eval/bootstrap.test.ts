import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapF1, pairedBootstrapF1, F1_AVERAGES } from '../../src/eval/bootstrap.js';
import { mulberry32 } from '../../src/util/random.js';
import { evaluate } from '../../src/eval/metrics.js';

/** A synthetic model whose scores are informative but noisy, seeded. */
function synth(n: number, L: number, seed: number, skill = 0.35): { yTrue: number[][]; yProb: number[][] } {
  const rand = mulberry32(seed);
  const yTrue: number[][] = [];
  const yProb: number[][] = [];
  for (let i = 0; i < n; i++) {
    const t: number[] = [];
    const p: number[] = [];
    for (let j = 0; j < L; j++) {
      const pos = rand() < 0.1 + 0.5 / (j + 1) ? 1 : 0;
      t.push(pos);
      p.push(Math.min(1, Math.max(0, rand() * (1 - skill) + (pos ? skill : 0))));
    }
    yTrue.push(t);
    yProb.push(p);
  }
  return { yTrue, yProb };
}

test('bootstrap estimates equal evaluate() and the CIs contain them', () => {
  const { yTrue, yProb } = synth(300, 10, 1);
  const labels = Array.from({ length: 10 }, (_, j) => `g${j}`);
  const m = evaluate(yTrue, yProb, labels);
  const b = bootstrapF1(yTrue, yProb, { resamples: 400, seed: 3 });
  for (const avg of F1_AVERAGES) {
    assert.ok(Math.abs(b.f1[avg].estimate - m.f1[avg]) < 1e-12, avg);
    assert.ok(
      b.f1[avg].low <= b.f1[avg].estimate && b.f1[avg].estimate <= b.f1[avg].high,
      `${avg} CI contains estimate`,
    );
    assert.ok(b.f1[avg].high - b.f1[avg].low > 0, `${avg} CI has width`);
  }
});

test('bootstrap is deterministic for a seed and changes with it', () => {
  const { yTrue, yProb } = synth(200, 8, 2);
  const a = bootstrapF1(yTrue, yProb, { resamples: 200, seed: 11 });
  const b = bootstrapF1(yTrue, yProb, { resamples: 200, seed: 11 });
  const c = bootstrapF1(yTrue, yProb, { resamples: 200, seed: 12 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.f1.macro, c.f1.macro);
});

test('more movies give narrower intervals', () => {
  const small = synth(100, 8, 4);
  const large = synth(1600, 8, 4);
  const bs = bootstrapF1(small.yTrue, small.yProb, { resamples: 300 });
  const bl = bootstrapF1(large.yTrue, large.yProb, { resamples: 300 });
  for (const avg of F1_AVERAGES) {
    const ws = bs.f1[avg].high - bs.f1[avg].low;
    const wl = bl.f1[avg].high - bl.f1[avg].low;
    assert.ok(wl < ws / 2, `${avg}: ${wl} should be well under ${ws}`);
  }
});

test('paired bootstrap: a clearly better model has a positive difference, identical models a zero one', () => {
  const { yTrue, yProb } = synth(400, 8, 5, 0.5);
  const worse = yProb.map((r, i) => r.map((v, j) => ((i + j) % 3 === 0 ? 1 - v : v)));
  const d = pairedBootstrapF1(yTrue, yProb, worse, { resamples: 300, seed: 9 });
  for (const avg of F1_AVERAGES) {
    assert.ok(d.difference[avg].low > 0, `${avg}: lower bound ${d.difference[avg].low} > 0`);
    assert.ok(Math.abs(d.difference[avg].estimate - (d.a[avg] - d.b[avg])) < 1e-12);
    assert.ok(d.difference[avg].pValue < 0.01);
  }
  const same = pairedBootstrapF1(yTrue, yProb, yProb, { resamples: 50 });
  assert.equal(same.difference.macro.low, 0);
  assert.equal(same.difference.macro.high, 0);
  assert.equal(same.difference.macro.pValue, 1);
});

test('a resample of 1,000 over 504 movies × 23 genres is fast', () => {
  const { yTrue, yProb } = synth(504, 23, 6);
  const t0 = performance.now();
  bootstrapF1(yTrue, yProb, { resamples: 1000 });
  const ms = performance.now() - t0;
  assert.ok(ms < 5000, `took ${ms} ms`);
});
