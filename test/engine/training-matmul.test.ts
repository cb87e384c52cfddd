import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { maxRelativeDifference, pseudoRandomValues } from '../helpers/backends.js';
import { markRewritten, transposedProductCount } from '../../src/engine/fix-matmul.js';
import { FusedAdam } from '../../src/engine/fused-adam.js';

const values = pseudoRandomValues;

/** Plain JS a·b, the reference. */
function product(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}

test('a weight marked as rewritten in place is multiplied through the transposed route, with its new values', async () => {
  await initEngine({ backend: 'wasm' });
  const [m, k, n] = [6, 50, 9];
  const a = tf.tensor(values(m * k, 1), [m, k]);
  const w = tf.variable(tf.tensor(values(k * n, 2), [k, n]));
  const first = tf.matMul(a, w); // packs w and caches the operator for its id
  const opt = new FusedAdam([w], { learningRate: 0.5 });
  const grad = tf.tensor(values(k * n, 3), [k, n]);
  opt.applyGradients({ [w.name]: grad }); // in place, then marked
  const now = Float32Array.from(w.dataSync());
  const expected = product(a.dataSync() as Float32Array, now, m, k, n);
  const routed = transposedProductCount();
  const viaTransposed = tf.matMul(a, w).dataSync(); // first use after the write
  assert.equal(
    transposedProductCount(),
    routed + 1,
    'the first product after the write went through the transposes',
  );
  const viaPacked = tf.matMul(a, w).dataSync(); // second use: packs the new values
  assert.equal(transposedProductCount(), routed + 1, 'the second one packed');
  assert.ok(maxRelativeDifference(viaTransposed, expected) < 1e-5, 'transposed route');
  assert.ok(maxRelativeDifference(viaPacked, expected) < 1e-5, 'packed again, not the stale operator');
  assert.ok(maxRelativeDifference(first.dataSync(), expected) > 1e-3, 'the weights did change');
  // An explicitly marked plain tensor too, and a batch of one row.
  const b = tf.tensor(values(k * n, 4), [k, n]);
  markRewritten(b.dataId);
  const row = tf.slice(a, [0, 0], [1, k]);
  const r = tf.matMul(row, b).dataSync();
  assert.ok(
    maxRelativeDifference(r, product(row.dataSync() as Float32Array, b.dataSync() as Float32Array, 1, k, n)) <
      1e-5,
  );
  tf.dispose([a, w, first, grad, b, row]);
  opt.dispose();
});

test('Dense gradients while recording skip dL/dx of an input nobody needs, and equal the fused ones', async () => {
  await initEngine({ backend: 'wasm' });
  const x = tf.tensor(values(32 * 70, 5), [32, 70]);
  const w = tf.variable(tf.tensor(values(70 * 40, 6, 0.2), [70, 40]));
  const bias = tf.variable(tf.tensor(values(40, 7), [40]));
  const loss = () => tf.sum(tf.tanh(tf.fused.matMul({ a: x, b: w, bias }))) as tf.Scalar;
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(loss, [w, bias]);
    tf.dispose([value, ...Object.values(grads)]);
  });
  const products = profile.kernels.filter((k) => /MatMul/.test(k.name)).map((k) => k.outputShapes);
  assert.equal(products.length, 2, `forward and dW only, got ${JSON.stringify(products)}`);
  const { grads } = tf.variableGrads(loss, [w, bias]);
  // Reference: the same gradients on the cpu backend's unfused ops.
  const dw = Float32Array.from(grads[w.name].dataSync());
  const db = Float32Array.from(grads[bias.name].dataSync());
  const [xv, wv, bv] = [x, w, bias].map((t) => Float32Array.from(t.dataSync()));
  await initEngine({ backend: 'cpu' });
  const ref = tf.grads((xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.tanh(tf.add(tf.matMul(xx, ww), bb))),
  )([tf.tensor(xv, [32, 70]), tf.tensor(wv, [70, 40]), tf.tensor(bv, [40])]);
  assert.ok(maxRelativeDifference(dw, ref[1].dataSync()) < 1e-5, 'dW');
  assert.ok(maxRelativeDifference(db, ref[2].dataSync()) < 1e-5, 'dbias');
  tf.dispose(ref);
  await initEngine({ backend: 'wasm' });
  tf.dispose([x, w, bias, ...Object.values(grads)]);
});
