import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { maxRelativeDifference, pseudoRandomValues } from '../helpers/backends.js';
import { FusedAdam } from '../../src/engine/fused-adam.js';
import { adamSimdKernel } from '../../src/engine/adam-simd.js';

const values = pseudoRandomValues;

/** Two variables (a kernel and a bias), a loss with non-trivial gradients, `steps` optimiser steps. */
function train(
  make: (vars: tf.Variable[]) => tf.Optimizer,
  steps: number,
  afterStep?: (vars: tf.Variable[]) => void,
): Float32Array[] {
  const w = tf.tidy(() => tf.variable(tf.tensor(values(40 * 7, 1, 0.3), [40, 7])));
  const b = tf.tidy(() => tf.variable(tf.tensor(values(7, 2, 0.1), [7])));
  const x = tf.tensor(values(16 * 40, 3), [16, 40]);
  const y = tf.tensor(values(16 * 7, 4), [16, 7]);
  const opt = make([w, b]);
  for (let s = 0; s < steps; s++) {
    const loss = opt.minimize(
      () => tf.mean(tf.square(tf.sub(tf.tanh(tf.add(tf.matMul(x, w), b)), y))) as tf.Scalar,
      true,
      [w, b],
    );
    loss?.dispose();
    afterStep?.([w, b]);
  }
  const out = [w, b].map((v) => Float32Array.from(v.dataSync()));
  tf.dispose([w, b, x, y]);
  opt.dispose();
  return out;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`FusedAdam follows tf.train.adam over 25 steps (${backend} backend)`, async () => {
    await initEngine({ backend });
    const before = tf.memory().numTensors;
    const ref = train(() => tf.train.adam(0.01), 25);
    const fused = train((vars) => new FusedAdam(vars, { learningRate: 0.01 }), 25);
    const start = train(() => tf.train.adam(0.01), 0);
    ref.forEach((r, i) => {
      assert.ok(maxRelativeDifference(r, start[i]) > 1e-3, 'the reference moved the weights');
      const d = maxRelativeDifference(fused[i], r);
      // ~1e-7 apart (float32 rounding in another order). On wasm this also catches a stale
      // XNNPACK operator cache (the packed weights of a tensor id written in place), which
      // drifts by far more. The bias (7 values) exercises the scalar tail after the SIMD lanes.
      assert.ok(d <= 1e-6, `variable ${i}: relative difference ${d.toExponential(2)}`);
    });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
  });
}

test('FusedAdam folds decoupled weight decay in: same as assigning w·(1 − lr·wd) after each step', async () => {
  await initEngine({ backend: 'wasm' });
  const factor = 1 - 0.01 * 0.1;
  const ref = train(
    () => tf.train.adam(0.01),
    10,
    ([w]) => tf.tidy(() => w.assign(tf.mul(w, factor))),
  );
  const fused = train(
    (vars) => new FusedAdam(vars, { learningRate: 0.01, decay: new Map([[vars[0].name, factor]]) }),
    10,
  );
  const undecayed = train((vars) => new FusedAdam(vars, { learningRate: 0.01 }), 10);
  assert.ok(maxRelativeDifference(fused[0], ref[0]) <= 1e-6, 'the decayed kernel');
  assert.ok(maxRelativeDifference(fused[1], ref[1]) <= 1e-6, 'the bias, not decayed');
  assert.ok(maxRelativeDifference(undecayed[0], ref[0]) > 1e-4, 'decay made a difference');
});

for (const backend of ['cpu', 'wasm'] as const) {
  test(`FusedAdam never writes through a buffer another tensor shares (${backend})`, async () => {
    await initEngine({ backend });
    const init = values(12, 7);
    const source = tf.tensor(init, [3, 4]);
    // tf.variable keeps the initial tensor's buffer (refCount 2), a reshape shares it again.
    const w = tf.variable(source);
    const view = tf.reshape(w, [12]);
    const opt = new FusedAdam([w], { learningRate: 0.1 });
    const grad = tf.ones([3, 4]);
    opt.applyGradients({ [w.name]: grad });
    assert.deepEqual(source.dataSync(), init, 'the initial tensor is untouched');
    assert.deepEqual(view.dataSync(), init, 'the reshape is untouched');
    const moved = Float32Array.from(w.dataSync());
    assert.ok(
      moved.every((v, i) => Math.abs(init[i] - 0.1 - v) < 1e-5),
      'the variable stepped by −lr',
    );
    tf.dispose([source, view]);
    // Now the only owner: updated in place, still correct.
    opt.applyGradients({ [w.name]: grad });
    assert.ok(
      w.dataSync().every((v, i) => Math.abs(moved[i] - 0.1 - v) < 1e-5),
      'second step',
    );
    // A typed array handed to tf.tensor (kept as is by the cpu backend) is not mutated either.
    const held = values(12, 9);
    const copy = Float32Array.from(held);
    tf.tidy(() => w.assign(tf.tensor(held, [3, 4])));
    opt.applyGradients({ [w.name]: grad });
    assert.deepEqual(held, copy, 'the caller array behind the assigned tensor is untouched');
    tf.dispose([w, grad]);
    opt.dispose();
  });
}

test('FusedAdam state round-trips exactly (export/import and getWeights/setWeights)', async () => {
  await initEngine({ backend: 'wasm' });
  const run = (steps: number, resumeAt?: number): Float32Array => {
    const w = tf.variable(tf.tensor(values(30, 5), [5, 6]));
    let opt = new FusedAdam([w], { learningRate: 0.05 });
    for (let s = 0; s < steps; s++) {
      if (s === resumeAt) {
        const saved = opt.exportState();
        const weights = Float32Array.from(w.dataSync());
        opt.dispose();
        tf.tidy(() => w.assign(tf.tensor(weights, w.shape)));
        opt = new FusedAdam([w], { learningRate: 0.05 });
        opt.importState(saved);
      }
      const g = tf.tensor(values(30, 100 + s), [5, 6]);
      opt.applyGradients([{ name: w.name, tensor: g }]);
      g.dispose();
    }
    const out = Float32Array.from(w.dataSync());
    w.dispose();
    return out;
  };
  assert.deepEqual(run(12, 5), run(12), 'resumed from exported state = uninterrupted');

  const w = tf.variable(tf.zeros([4]));
  const a = new FusedAdam([w], { learningRate: 0.1 });
  const g = tf.tensor1d([1, -2, 3, 0]);
  a.applyGradients({ [w.name]: g });
  const weights = await a.getWeights();
  assert.deepEqual(
    weights.map((n) => n.name),
    ['iter', `${w.name}/m`, `${w.name}/v`],
  );
  const b = new FusedAdam([w], { learningRate: 0.1 });
  await b.setWeights(weights);
  assert.equal(b.iterations, 1);
  assert.deepEqual(b.exportState().slice(0, 3), a.exportState().slice(0, 3));
  tf.dispose([w, g, ...weights.map((n) => n.tensor)]);
});

test('the SIMD Adam kernel computes one step on a memory of its own', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const kernel = adamSimdKernel(memory);
  assert.ok(kernel, 'WebAssembly SIMD is available in Node ≥ 20');
  const heap = new Float32Array(memory.buffer);
  const [g, m, v, p] = [0, 8, 16, 24]; // element offsets of four 8-float arrays
  heap.set(values(8, 1), g);
  heap.set(values(8, 2, 0.1), m);
  heap.set(values(8, 3, 0.1).map(Math.abs), v);
  heap.set(values(8, 4), p);
  const before = Float32Array.from(heap.subarray(0, 32));
  const [b1, b2, stepSize, rootScale, eps, decay] = [0.9, 0.999, 0.01, 3, 1e-7, 0.99];
  kernel(g * 4, m * 4, v * 4, p * 4, 8 * 4, b1, b2, 1 - b1, 1 - b2, stepSize, rootScale, eps, decay);
  for (let i = 0; i < 8; i++) {
    const gi = before[g + i];
    const mi = b1 * before[m + i] + (1 - b1) * gi;
    const vi = b2 * before[v + i] + (1 - b2) * gi * gi;
    const pi = (before[p + i] - (stepSize * mi) / (Math.sqrt(vi) * rootScale + eps)) * decay;
    for (const [got, want, what] of [
      [heap[m + i], mi, 'm'],
      [heap[v + i], vi, 'v'],
      [heap[p + i], pi, 'param'],
    ] as const) {
      assert.ok(
        Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)),
        `${what}[${i}]: ${got} vs ${want}`,
      );
    }
  }
});
