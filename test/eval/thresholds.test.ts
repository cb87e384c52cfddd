import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../src/util/random.js';
import { macroF1, evaluate } from '../../src/eval/metrics.js';
import {
  DEFAULT_THRESHOLD_POLICY,
  readThresholds,
  ROBUST_TUNING,
  tuneThresholds,
  writeThresholds,
} from '../../src/eval/thresholds.js';
import { tempDir } from '../helpers/shared.js';

/** Miscalibrated scores: positives around 0.35, negatives around 0.15, so 0.5 predicts almost nothing. */
function miscalibrated(n: number, L: number, seed: number): { yTrue: number[][]; yProb: number[][] } {
  const rand = mulberry32(seed);
  const yTrue = Array.from({ length: n }, () =>
    Array.from({ length: L }, (_, j) => (rand() < 0.3 / (j + 1) ? 1 : 0)),
  );
  const yProb = yTrue.map((r) =>
    r.map((t) => Math.min(1, Math.max(0, (t ? 0.35 : 0.15) + (rand() - 0.5) * 0.3))),
  );
  return { yTrue, yProb };
}

test('tuned thresholds raise dev F1 for every genre with positives, and transfer to held-out data', () => {
  const dev = miscalibrated(400, 6, 1);
  const t = tuneThresholds(dev.yTrue, dev.yProb);
  assert.equal(t.length, 6);
  const labels = ['a', 'b', 'c', 'd', 'e', 'f'];
  const at05 = evaluate(dev.yTrue, dev.yProb, labels);
  const tuned = evaluate(dev.yTrue, dev.yProb, labels, { threshold: t });
  at05.perLabel.forEach((p, j) => assert.ok(tuned.perLabel[j].f1 >= p.f1, `genre ${j}`));
  assert.ok(macroF1(dev.yTrue, dev.yProb, t) > macroF1(dev.yTrue, dev.yProb) + 0.2);
  const test_ = miscalibrated(400, 6, 2);
  assert.ok(macroF1(test_.yTrue, test_.yProb, t) > macroF1(test_.yTrue, test_.yProb) + 0.2);
});

test('exact search finds the best cut, and a grid restricts the candidates', () => {
  const yTrue = [[1], [1], [0], [0]];
  const yProb = [[0.3], [0.2], [0.1], [0.05]];
  const [t] = tuneThresholds(yTrue, yProb);
  assert.ok(t >= 0.1 && t < 0.2, `threshold ${t} separates the classes`);
  assert.equal(macroF1(yTrue, yProb, [t]), 1);
  assert.deepEqual(tuneThresholds(yTrue, yProb, { grid: [0.25, 0.5] }), [0.25]);
});

test('genres without positives keep 0.5 and no threshold is ever NaN', () => {
  const yTrue = [
    [0, 1],
    [0, 0],
    [0, 1],
  ];
  const yProb = [
    [0.9, 0],
    [0.1, 0],
    [0.4, 0],
  ];
  const t = tuneThresholds(yTrue, yProb);
  assert.equal(t[0], 0.5);
  assert.ok(t.every((x) => Number.isFinite(x)));
  assert.deepEqual(tuneThresholds([], []), []);
  assert.throws(() => tuneThresholds([[1]], [[Number.NaN]]), /not a finite number/);
});

test("thresholds.json round-trips, reorders to the caller's labels and names missing genres", () => {
  const dir = tempDir();
  const path = join(dir, 'thresholds.json');
  writeThresholds(path, { labels: ['Drama', 'Comedy'], thresholds: [0.3, 0.6], tunedOn: 'dev' });
  const f = readThresholds(path, ['Comedy', 'Drama']);
  assert.deepEqual(f.thresholds, [0.6, 0.3]);
  assert.equal(f.tunedOn, 'dev');
  assert.throws(() => readThresholds(path, ['Drama', 'Horror']), /no threshold for: Horror/);
  writeFileSync(path, JSON.stringify({ labels: ['Drama'], thresholds: [0.1, 0.2], tunedOn: 'dev' }));
  assert.throws(() => readThresholds(path), /same length/);
  writeFileSync(path, '{"labels": [');
  assert.throws(() => readThresholds(path), /cannot read thresholds file/);
});

test('robust tuning: a genre with few dev positives keeps 0.5, a tuned cut is shrunk toward 0.5', () => {
  // Genre 0: one positive with a tiny score (raw tuning would cut at ~0.0005); genre 1: 30 positives.
  const n = 60;
  const yTrue = Array.from({ length: n }, (_, i) => [i === 0 ? 1 : 0, i < 30 ? 1 : 0]);
  const yProb = Array.from({ length: n }, (_, i) => [i === 0 ? 0.001 : 0.0001, i < 30 ? 0.3 : 0.1]);
  const raw = tuneThresholds(yTrue, yProb);
  assert.ok(raw[0] < 0.01, `raw tuning invents the rare genre: ${raw[0]}`);
  const robust = tuneThresholds(yTrue, yProb, ROBUST_TUNING);
  assert.equal(robust[0], 0.5);
  // raw cut for genre 1 is 0.2 (midpoint of 0.3 and 0.1); 30 positives, pseudo-count 20.
  assert.ok(Math.abs(raw[1] - 0.2) < 1e-9);
  assert.ok(Math.abs(robust[1] - (30 * 0.2 + 20 * 0.5) / 50) < 1e-9, String(robust[1]));
  assert.equal(DEFAULT_THRESHOLD_POLICY, '0.5');
});
