import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { biLstmLast, createLstmWeights, lstm, type LstmWeights } from '../../src/engine/lstm.js';
import { maxRelativeDifference, onBothBackends } from '../helpers/backends.js';

/** The same LSTM written step by step with plain ops and left to autodiff: the reference. */
function referenceLstm(x: tf.Tensor3D, mask: tf.Tensor2D, w: LstmWeights, reverse: boolean): tf.Tensor2D {
  const [batch, time] = x.shape;
  const units = w.recurrentKernel.shape[0];
  let h: tf.Tensor2D = tf.zeros([batch, units]);
  let c: tf.Tensor2D = tf.zeros([batch, units]);
  for (let k = 0; k < time; k++) {
    const t = reverse ? time - 1 - k : k;
    const xt = tf.reshape(tf.slice(x, [0, t, 0], [batch, 1, -1]), [batch, -1]);
    const mt = tf.reshape(tf.slice(mask, [0, t], [batch, 1]), [batch, 1]);
    const a = tf.add(tf.add(tf.matMul(xt, w.kernel), w.bias), tf.matMul(h, w.recurrentKernel));
    const [ai, af, ag, ao] = tf.split(a, 4, 1);
    const cNew = tf.add(tf.mul(tf.sigmoid(af), c), tf.mul(tf.sigmoid(ai), tf.tanh(ag)));
    const hNew = tf.mul(tf.sigmoid(ao), tf.tanh(cNew));
    h = tf.add(tf.mul(mt, hNew), tf.mul(tf.sub(1, mt), h)) as tf.Tensor2D;
    c = tf.add(tf.mul(mt, cNew), tf.mul(tf.sub(1, mt), c)) as tf.Tensor2D;
  }
  return h;
}

const vals = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 1.3) * 0.6);

function fixture() {
  const [B, T, D, H] = [3, 5, 4, 6];
  const x = tf.tensor3d(vals(B * T * D, 1), [B, T, D]);
  // Right padding: lengths 5, 3, 1.
  const mask = tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0], [B, T]);
  const w: LstmWeights = {
    kernel: tf.variable(tf.tensor2d(vals(D * 4 * H, 2), [D, 4 * H])),
    recurrentKernel: tf.variable(tf.tensor2d(vals(H * 4 * H, 3), [H, 4 * H])),
    bias: tf.variable(tf.tensor1d(vals(4 * H, 4))),
  };
  return { x, mask, w };
}

for (const reverse of [false, true]) {
  test(`fused LSTM (${reverse ? 'reverse' : 'forward'}) matches the step-by-step autodiff reference, values and gradients`, async () => {
    await initEngine();
    const { x, mask, w } = fixture();
    const target = tf.tensor2d(vals(18, 9), [3, 6]);
    const vars = [w.kernel, w.recurrentKernel, w.bias] as tf.Variable[];
    const fast = tf.variableGrads(
      () => tf.sum(tf.mul(lstm(x, mask, w, { reverse }).last, target)) as tf.Scalar,
      vars,
    );
    const ref = tf.variableGrads(
      () => tf.sum(tf.mul(referenceLstm(x, mask, w, reverse), target)) as tf.Scalar,
      vars,
    );
    assert.ok(maxRelativeDifference(fast.value.dataSync(), ref.value.dataSync()) < 1e-5);
    for (const v of vars) {
      const d = maxRelativeDifference(fast.grads[v.name].dataSync(), ref.grads[v.name].dataSync());
      assert.ok(d < 1e-4, `gradient of ${v.name} differs by ${d}`);
    }
    const dxFast = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(lstm(xx as tf.Tensor3D, mask, w, { reverse }).last, target)),
    )(x);
    const dxRef = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(referenceLstm(xx as tf.Tensor3D, mask, w, reverse), target)),
    )(x);
    assert.ok(maxRelativeDifference(dxFast.dataSync(), dxRef.dataSync()) < 1e-4);
    // Padding is inert: the third sequence (length 1) does not depend on its padded inputs.
    assert.ok(
      tf
        .slice(dxFast, [2, 1, 0], [1, 4, 4])
        .dataSync()
        .every((v) => v === 0),
    );
  });
}

test('fused LSTM sequence output and its gradients agree between wasm and cpu', async () => {
  const r = await onBothBackends(() => {
    const { x, mask, w } = fixture();
    const f = (xx: tf.Tensor, u: tf.Tensor) =>
      tf.sum(tf.sin(lstm(xx as tf.Tensor3D, mask, { ...w, recurrentKernel: u as tf.Tensor2D }).sequence));
    return [lstm(x, mask, w).sequence, ...tf.grads(f)([x, w.recurrentKernel])];
  });
  r.cpu.forEach((ref, i) => assert.ok(maxRelativeDifference(r.wasm[i], ref) < 1e-4, `output ${i}`));
});

test('fused LSTM: padding gives the same last states as the unpadded sequences; no tensor leaks', async () => {
  await initEngine();
  const [D, H] = [5, 8];
  const w = createLstmWeights(D, H, 3, 'pad_lstm');
  const wb = createLstmWeights(D, H, 7, 'pad_lstm_b');
  const lengths = [7, 2, 5];
  const T = 9;
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
  const both = biLstmLast(padded, mask, w, wb);
  const alone = seqs.map((q) => biLstmLast(q as tf.Tensor3D, null, w, wb));
  assert.equal(tf.memory().numTensors, before + 1 + alone.length, 'only the results stay allocated');
  alone.forEach((a, s) => {
    const row = tf.slice(both, [s, 0], [1, 2 * H]);
    assert.ok(maxRelativeDifference(row.dataSync(), a.dataSync()) < 1e-5, `sequence ${s}`);
  });
  // A training step leaves nothing behind either.
  const vars = [...Object.values(w), ...Object.values(wb)] as tf.Variable[];
  const opt = tf.train.adam(0.01);
  const step = () =>
    tf.tidy(() => {
      opt.minimize(() => tf.sum(tf.square(biLstmLast(padded, mask, w, wb))) as tf.Scalar, false, vars);
    });
  step();
  const settled = tf.memory().numTensors;
  step();
  step();
  assert.equal(tf.memory().numTensors, settled);
});
