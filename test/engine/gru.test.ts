import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { biGruLast, createGruWeights, gru, type GruWeights } from '../../src/engine/gru.js';
import { maxRelativeDifference, onBothBackends } from '../helpers/backends.js';

/** The same GRU written step by step with plain ops and left to autodiff: the reference. */
function referenceGru(x: tf.Tensor3D, mask: tf.Tensor2D, w: GruWeights, reverse: boolean): tf.Tensor2D {
  const [batch, time] = x.shape;
  const units = w.recurrentKernel.shape[0];
  let h: tf.Tensor2D = tf.zeros([batch, units]);
  for (let k = 0; k < time; k++) {
    const t = reverse ? time - 1 - k : k;
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [batch, 1, -1]), [batch, -1]);
    const mt = tf.reshape(tf.slice(mask, [0, t], [batch, 1]), [batch, 1]);
    const [xz, xr, xn] = tf.split(tf.add(tf.matMul(xt, w.kernel), w.bias), 3, 1);
    const [gz, gr, gn] = tf.split(tf.add(tf.matMul(h, w.recurrentKernel), w.recurrentBias), 3, 1);
    const z = tf.sigmoid(tf.add(xz, gz));
    const r = tf.sigmoid(tf.add(xr, gr));
    const n = tf.tanh(tf.add(xn, tf.mul(r, gn)));
    const hNew = tf.add(tf.mul(tf.sub(1, z), n), tf.mul(z, h));
    h = tf.add(tf.mul(mt, hNew), tf.mul(tf.sub(1, mt), h)) as tf.Tensor2D;
  }
  return h;
}

function fixture() {
  const [B, T, D, H] = [3, 5, 4, 6];
  const vals = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.6);
  const x = tf.tensor3d(vals(B * T * D, 1), [B, T, D]);
  // Right padding: lengths 5, 3, 1.
  const mask = tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0], [B, T]);
  const w: GruWeights = {
    kernel: tf.variable(tf.tensor2d(vals(D * 3 * H, 2), [D, 3 * H])),
    recurrentKernel: tf.variable(tf.tensor2d(vals(H * 3 * H, 3), [H, 3 * H])),
    bias: tf.variable(tf.tensor1d(vals(3 * H, 4))),
    recurrentBias: tf.variable(tf.tensor1d(vals(3 * H, 5))),
  };
  return { x, mask, w };
}

for (const reverse of [false, true]) {
  test(`fast GRU (${reverse ? 'reverse' : 'forward'}) matches the step-by-step autodiff reference, values and gradients`, async () => {
    await initEngine();
    const { x, mask, w } = fixture();
    const target = tf.tensor2d(
      Array.from({ length: 18 }, (_, i) => Math.cos(i)),
      [3, 6],
    );
    const lossFast = () => tf.sum(tf.mul(gru(x, mask, w, { reverse }).last, target)) as tf.Scalar;
    const lossRef = () => tf.sum(tf.mul(referenceGru(x, mask, w, reverse), target)) as tf.Scalar;
    const vars = [w.kernel, w.recurrentKernel, w.bias, w.recurrentBias] as tf.Variable[];
    const fast = tf.variableGrads(lossFast, vars);
    const ref = tf.variableGrads(lossRef, vars);
    assert.ok(maxRelativeDifference(fast.value.dataSync(), ref.value.dataSync()) < 1e-5);
    for (const v of vars) {
      const d = maxRelativeDifference(fast.grads[v.name].dataSync(), ref.grads[v.name].dataSync());
      assert.ok(d < 1e-4, `gradient of ${v.name} differs by ${d}`);
    }
    // Gradient with respect to the input too (feeds a trainable embedding).
    const dxFast = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(gru(xx as tf.Tensor3D, mask, w, { reverse }).last, target)),
    )(x);
    const dxRef = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(referenceGru(xx as tf.Tensor3D, mask, w, reverse), target)),
    )(x);
    assert.ok(maxRelativeDifference(dxFast.dataSync(), dxRef.dataSync()) < 1e-4);
    // Padding is inert: the third sequence (length 1) must not depend on its padded inputs.
    const padGrad = tf.slice(dxFast, [2, 1, 0], [1, 4, 4]);
    assert.ok(reverse || padGrad.dataSync().every((v) => v === 0));
  });
}

test('fast GRU sequence output and its gradient agree between wasm and cpu', async () => {
  const r = await onBothBackends(() => {
    const { x, mask, w } = fixture();
    const f = (xx: tf.Tensor) => tf.sum(tf.sin(gru(xx as tf.Tensor3D, mask, w).sequence));
    return [gru(x, mask, w).sequence, tf.grad(f)(x)];
  });
  r.cpu.forEach((ref, i) => assert.ok(maxRelativeDifference(r.wasm[i], ref) < 1e-4));
});

test('fast GRU: padding gives the same last states as the unpadded sequences; no tensor leaks', async () => {
  await initEngine();
  const [D, H, T] = [5, 8, 9];
  const vals = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(seed * 3.7 + i * 0.9) * 0.7);
  const w = createGruWeights(D, H, 3, 'pad_gru');
  const wb = createGruWeights(D, H, 7, 'pad_gru_b');
  const lengths = [7, 2, 5];
  const seqs = lengths.map((L, s) => tf.tensor3d(vals(L * D, 20 + s), [1, L, D]));
  const padded = tf.concat(
    seqs.map((q, s) =>
      tf.pad(q, [
        [0, 0],
        [0, T - lengths[s]],
        [0, 0],
      ]),
    ),
    0,
  ) as tf.Tensor3D;
  const mask = tf.tensor2d(
    lengths.flatMap((L) => Array.from({ length: T }, (_, t) => (t < L ? 1 : 0))),
    [3, T],
  );
  const before = tf.memory().numTensors;
  const both = biGruLast(padded, mask, w, wb);
  const alone = seqs.map((q) => biGruLast(q as tf.Tensor3D, null, w, wb));
  assert.equal(tf.memory().numTensors, before + 1 + alone.length, 'only the results stay allocated');
  alone.forEach((a, s) => {
    const row = tf.slice(both, [s, 0], [1, 2 * H]);
    assert.ok(maxRelativeDifference(row.dataSync(), a.dataSync()) < 1e-5, `sequence ${s}`);
  });
  // The forward sequence output holds the carried state over padding.
  const seq = gru(padded, mask, w).sequence;
  const s1 = seq.arraySync()[1];
  assert.deepEqual(s1[8], s1[1], 'padding steps repeat the last real state');
  const vars = [...Object.values(w), ...Object.values(wb)] as tf.Variable[];
  const opt = tf.train.adam(0.01);
  const step = () =>
    tf.tidy(() => {
      opt.minimize(() => tf.sum(tf.square(biGruLast(padded, mask, w, wb))) as tf.Scalar, false, vars);
    });
  step();
  const settled = tf.memory().numTensors;
  step();
  step();
  assert.equal(tf.memory().numTensors, settled);
});
