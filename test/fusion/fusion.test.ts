import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf } from '../../src/engine/index.js';
import { buildModel, specFor, type InputSpec, type ModelSpec } from '../../src/models/index.js';
import {
  dropModalities,
  fit,
  loadRun,
  parseConfig,
  trainOnData,
  type TrainingData,
} from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { readPredictions } from '../../src/eval/predictions.js';
import { evaluate } from '../../src/eval/metrics.js';
import { rowsOf } from '../../src/train/data.js';
import { predictSplit } from '../../src/train/trainer.js';
import { SeededRandom } from '../../src/util/random.js';
import { combineLate, gateShares, gateValue } from '../../src/models/fusion/index.js';
import { fitLateWeights } from '../../src/train/late-fusion.js';
import { tempDir } from '../helpers/shared.js';

const DIMS = [48, 12];
const inputs: InputSpec[] = [
  {
    id: 'poster',
    modality: 'poster',
    source: { kind: 'features', encoder: 'synthetic' },
    shape: [DIMS[0]],
    dtype: 'float32',
  },
  {
    id: 'plot',
    modality: 'plot',
    source: { kind: 'features', encoder: 'synthetic' },
    shape: [DIMS[1]],
    dtype: 'float32',
  },
];
const base = syntheticTrainingData({
  dims: DIMS,
  sizes: { train: 400, dev: 100, test: 100 },
  noise: 2.5,
  seed: 3,
});
const L = base.labels.length;

/** The same data with one input replaced by pure noise (so only the other carries the signal). */
function onlySignalIn(keep: number, seed: number): TrainingData {
  const rng = new SeededRandom(seed);
  const noise = (a: Float32Array): Float32Array => a.map(() => (rng.next() - 0.5) * 5);
  const strip = (s: TrainingData['train']) => ({ ...s, x: s.x.map((x, k) => (k === keep ? x : noise(x))) });
  return { ...base, train: strip(base.train), dev: strip(base.dev), test: strip(base.test!) };
}

const specOf = (type: string, options: Record<string, unknown>, ins = inputs): ModelSpec =>
  specFor(type, options, { labels: base.labels, inputs: ins });

const settings = (over: Record<string, unknown> = {}) =>
  parseConfig({
    name: 'fusion-test',
    inputs: [
      { id: 'poster', encoder: 'synthetic' },
      { id: 'plot', encoder: 'synthetic' },
    ],
    model: { type: 'logistic' },
    training: { epochs: 8, patience: 0, lr: 0.003, classWeights: 'balanced', seed: 7, ...over },
  }).training;

function testMacroF1(model: Parameters<typeof predictSplit>[0], data: TrainingData): number {
  const prob = predictSplit(model, data.test!, data.dims);
  return evaluate(rowsOf(data.test!.y, data.test!.n, L), rowsOf(prob, data.test!.n, L), data.labels).f1.macro;
}

/** Chance: predicting every genre for every movie (the best constant macro-F1 here). */
function chanceMacroF1(data: TrainingData): number {
  const n = data.test!.n;
  const all = Array.from({ length: n }, () => new Float32Array(L).fill(1));
  return evaluate(rowsOf(data.test!.y, n, L), all, data.labels).f1.macro;
}

const families: Array<[string, Record<string, unknown>]> = [
  ['concat', { project: 16, dropout: 0.2 }],
  ['sum', { project: 16, dropout: 0.2 }],
  ['gmu', { project: 16, units: 16, dropout: 0.2 }],
  ['moe', { project: 16, expertHidden: [16], dropout: 0.2 }],
];

for (const [type, options] of families) {
  test(`${type}: builds from its spec, trains, and beats chance on signal from both modalities`, async () => {
    const spec = specOf(type, options);
    assert.equal(spec.family, type);
    const r = await fit(spec, base, { settings: settings(), progress: false });
    const f1 = testMacroF1(r.built.model, base);
    const chance = chanceMacroF1(base);
    assert.ok(f1 > chance + 0.1, `${type}: test macro-F1 ${f1.toFixed(3)} vs chance ${chance.toFixed(3)}`);
    r.built.model.dispose();
  });
}

test('a fusion over three inputs (GMU softmax gate, concat, sum) builds and predicts', () => {
  const three: InputSpec[] = [...inputs, { ...inputs[1], id: 'title', modality: 'title' }];
  const options: Record<string, Record<string, unknown>> = {
    gmu: { project: 8, units: 8 },
    concat: { project: 8 },
    sum: { project: 8 },
  };
  for (const type of ['gmu', 'concat', 'sum']) {
    const { model } = buildModel(specOf(type, options[type], three), { seed: 1 });
    const x = [tf.randomNormal([5, 48]), tf.randomNormal([5, 12]), tf.zeros([5, 12])];
    const p = model.predict(x) as tf.Tensor;
    assert.deepEqual(p.shape, [5, L]);
    assert.ok([...p.dataSync()].every((v) => v >= 0 && v <= 1 && Number.isFinite(v)));
    if (type === 'gmu') {
      const shares = gateShares(
        model,
        specOf(type, options[type], three),
        x.map((t) => t.dataSync() as Float32Array),
        5,
      )!;
      for (const s of shares) {
        assert.ok(Math.abs(s[0] + s[1] + s[2] - 1) < 1e-4, `shares sum to 1: ${s}`);
        assert.ok(s[2] < 1e-6, 'the all-zero (missing) title gets no weight');
      }
    }
    tf.dispose([...x, p]);
    model.dispose();
  }
});

test("the gate value sums a modality's inputs: two poster layers are the poster's share", () => {
  const posterMid: InputSpec = { ...inputs[0], id: 'poster_mid', shape: [8] };
  const spec = (ins: InputSpec[]): ModelSpec => specOf('gmu', {}, ins);
  assert.ok(
    Math.abs((gateValue(spec([inputs[0], posterMid, inputs[1]]), [0.1, 0.2, 0.7]) as number) - 0.3) < 1e-12,
  );
  assert.equal(
    gateValue(spec([inputs[1], inputs[0]]), [0.6, 0.4]),
    0.4,
    'the poster share, whatever the order',
  );
  const title: InputSpec = { ...inputs[1], id: 'title', modality: 'title' };
  assert.deepEqual(gateValue(spec([...inputs, title]), [0.5, 0.3, 0.2]), {
    poster: 0.5,
    plot: 0.3,
    title: 0.2,
  });
});

test('GMU gate moves toward the modality that carries the signal', async () => {
  const spec = specOf('gmu', { project: 16, units: 16, dropout: 0.1 });
  const meanPosterShare = async (data: TrainingData): Promise<number> => {
    const r = await fit(spec, data, { settings: settings({ epochs: 10 }), progress: false });
    const shares = gateShares(r.built.model, spec, data.test!.x, data.test!.n)!;
    r.built.model.dispose();
    return shares.reduce((s, row) => s + row[0], 0) / shares.length;
  };
  const posterOnly = await meanPosterShare(onlySignalIn(0, 11));
  const plotOnly = await meanPosterShare(onlySignalIn(1, 12));
  assert.ok(
    posterOnly > 0.5,
    `signal in the poster: poster share ${posterOnly.toFixed(3)} should exceed 0.5`,
  );
  assert.ok(plotOnly < 0.5, `signal in the plot: poster share ${plotOnly.toFixed(3)} should be below 0.5`);
});

test("gateDecayScale decays the gate's kernel harder: its weights stay nearer zero", async () => {
  const gateKernelNorm = async (gateDecayScale?: number): Promise<number> => {
    const spec = specOf('gmu', {
      project: 16,
      units: 16,
      dropout: 0.1,
      ...(gateDecayScale ? { gateDecayScale } : {}),
    });
    assert.equal(spec.nodes.find((n) => n.id === 'gmu_gate_logits')!.decayScale, gateDecayScale);
    // lr 0.003 · weight decay 1e-3 · 10,000 = 0.03 per step over ~80 steps; 3e-6 without the scale.
    const r = await fit(spec, onlySignalIn(0, 11), {
      settings: settings({ epochs: 6, weightDecay: 1e-3 }),
      progress: false,
    });
    const k = r.built.model.getLayer('gmu_gate_logits').getWeights()[0].dataSync() as Float32Array;
    r.built.model.dispose();
    return Math.sqrt(k.reduce((s, v) => s + v * v, 0));
  };
  const plain = await gateKernelNorm();
  const decayed = await gateKernelNorm(10_000);
  assert.ok(
    decayed < 0.9 * plain,
    `gate kernel norm ${decayed.toFixed(3)} with the scale vs ${plain.toFixed(3)}`,
  );
});

test('a missing modality is masked: GMU weight 0 on it, predictions name the inputs used', async () => {
  const out = tempDir();
  const config = parseConfig({
    name: 'fusion-gmu-test',
    inputs: [
      { id: 'poster', encoder: 'synthetic' },
      { id: 'plot', encoder: 'synthetic' },
    ],
    model: { type: 'gmu', project: 16, units: 16, dropout: 0.2 },
    training: { epochs: 3, patience: 0, seed: 3, modalityDropout: 0.3 },
  });
  // Mark the poster missing for the first 10 test movies (their rows are zero, as the loader writes them).
  const test = structuredClone(base.test!);
  for (let r = 0; r < 10; r++) {
    test.missing[0][r] = 1;
    test.x[0].fill(0, r * DIMS[0], (r + 1) * DIMS[0]);
  }
  const data = { ...base, test };
  const spec = specOf('gmu', { project: 16, units: 16, dropout: 0.2 });
  const res = await trainOnData(config, spec, data, [{ kind: 'none' }, { kind: 'none' }], {
    out,
    progress: false,
  });
  assert.equal(res.status, 'done');
  const preds = readPredictions(join(out, 'predictions-test.jsonl'));
  assert.equal(preds.errors.length, 0);
  for (const [r, row] of preds.rows.entries()) {
    const gate = row.gate as number;
    assert.equal(typeof gate, 'number');
    if (r < 10) {
      assert.deepEqual(row.inputs, ['plot']);
      assert.ok(gate < 1e-6, `row ${r}: poster missing, poster share ${gate}`);
    } else {
      assert.deepEqual(row.inputs, ['poster', 'plot']);
      assert.ok(gate > 0 && gate < 1);
    }
  }
  // The saved model (custom layers included) loads back and predicts the same with a modality removed.
  const run = await loadRun(out);
  // Rows 20..24 have both inputs.
  const raw = [test.x[0].slice(20 * DIMS[0], 25 * DIMS[0]), test.x[1].slice(20 * DIMS[1], 25 * DIMS[1])];
  const withPoster = run.predict(raw);
  const noPoster = run.predict(raw, [new Uint8Array(5).fill(1), new Uint8Array(5)]);
  const alsoNoPoster = run.predict([new Float32Array(5 * DIMS[0]), raw[1]]);
  assert.ok(
    withPoster.some((v, i) => Math.abs(v - noPoster[i]) > 1e-4),
    'removing the poster changes predictions',
  );
  assert.ok(
    noPoster.every((v, i) => Math.abs(v - alsoNoPoster[i]) < 1e-6),
    'missing = zero row',
  );
  run.model.dispose();
});

test('concat and sum replace a missing modality by a learned embedding', () => {
  for (const type of ['concat', 'sum']) {
    const spec = specOf(type, { project: 8 });
    assert.ok(spec.nodes.some((n) => n.op === 'missing_embedding' && n.inputs[0] === 'poster'));
    const { model } = buildModel(spec, { seed: 2 });
    const layer = model.getLayer('poster_or_missing');
    // Set the embedding to a known vector and check a missing (all-zero) poster reads as it.
    layer.setWeights([tf.fill([8], 0.25)]);
    const x = [tf.zeros([2, 48]), tf.randomNormal([2, 12])];
    const inner = tf.tidy(() => {
      const m = model.getLayer('poster_or_missing').apply([x[0], tf.ones([2, 8])]) as tf.Tensor;
      return m.dataSync();
    });
    assert.ok(
      [...inner].every((v) => Math.abs(v - 0.25) < 1e-6),
      `${type}: missing poster reads as the embedding`,
    );
    tf.dispose(x);
    model.dispose();
  }
});

test('modality dropout zeroes one present input per chosen row, never the last one', () => {
  const n = 200;
  const x = [new Float32Array(n * 3).fill(1), new Float32Array(n * 2).fill(1)];
  const missing = [new Uint8Array(n), new Uint8Array(n)];
  for (let r = 0; r < 50; r++) missing[1][r] = 1; // rows 0..49 have only the poster
  const perm = Uint32Array.from({ length: n }, (_, i) => i);
  dropModalities(x, [3, 2], perm, missing, 0.5, new SeededRandom(9));
  let dropped = 0;
  for (let r = 0; r < n; r++) {
    const a = x[0][r * 3] === 0;
    const b = x[1][r * 2] === 0;
    assert.ok(!(a && b), `row ${r}: both inputs dropped`);
    if (r < 50) assert.ok(!a, `row ${r}: its only input was dropped`);
    if (a || b) dropped++;
  }
  assert.ok(dropped > 40 && dropped < 110, `about half of the 150 two-input rows dropped one: ${dropped}`);
});

test('late fusion: weights fitted on dev favour the informative expert, absent experts drop out', () => {
  const n = 300;
  const K = 2;
  const rng = new SeededRandom(4);
  const y = new Uint8Array(n * 2);
  const good = new Float32Array(n * 2);
  const bad = new Float32Array(n * 2);
  for (let i = 0; i < n * 2; i++) {
    y[i] = rng.next() < 0.3 ? 1 : 0;
    good[i] = y[i] ? 0.8 : 0.2;
    bad[i] = rng.next();
  }
  const missing = [new Uint8Array(n), new Uint8Array(n)];
  const w = fitLateWeights([bad, good], missing, y, n, 2);
  assert.equal(w.length, K);
  for (let j = 0; j < 2; j++)
    assert.ok(w[1][j] > 0.7, `genre ${j}: weight of the informative expert ${w[1][j]}`);
  const m2 = [Uint8Array.from([1, 0]), Uint8Array.from([0, 0])];
  const p = combineLate(
    [Float32Array.from([0.9, 0.9, 0.1, 0.1]), Float32Array.from([0.2, 0.2, 0.3, 0.3])],
    m2,
    [
      [0.5, 0.5],
      [0.5, 0.5],
    ],
    2,
    2,
  );
  assert.ok(Math.abs(p[0] - 0.2) < 1e-6, 'row 0: expert 0 absent, only expert 1 counts');
  assert.ok(Math.abs(p[2] - 0.2) < 1e-6, 'row 1: the average');
});
