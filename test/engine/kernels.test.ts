import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { engineInfo, initEngine } from '../../src/engine/index.js';
import { maxRelativeDifference, onBothBackends, pseudoRandomValues } from '../helpers/backends.js';

const TOL = 1e-4;

const data = pseudoRandomValues;
function t(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(
    data(
      shape.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
    shape,
  );
}

function assertAgree(r: { wasm: Float32Array[]; cpu: Float32Array[] }, what: string, tol = TOL): void {
  assert.equal(r.wasm.length, r.cpu.length);
  r.cpu.forEach((ref, i) => {
    const d = maxRelativeDifference(r.wasm[i], ref);
    assert.ok(d <= tol, `${what} output ${i}: wasm differs from cpu by ${d.toExponential(2)} (relative)`);
  });
}

test('initEngine selects wasm with SIMD and lists its fixes', async () => {
  await initEngine();
  await initEngine(); // idempotent
  const info = engineInfo();
  assert.equal(info.backend, 'wasm');
  assert.equal(typeof info.simd, 'boolean');
  for (const k of [
    'BatchMatMul',
    'UnsortedSegmentSum',
    'Conv2DBackpropFilter',
    'DepthwiseConv2dNativeBackpropInput',
  ])
    assert.ok(
      info.fixes.some((f) => f.includes(k)),
      `fix for ${k} missing from ${info.fixes}`,
    );
});

test('BatchMatMul with every transpose combination, rank 2 and batched, matches cpu', async () => {
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const r = await onBothBackends(() => {
      const a2 = t(ta ? [7, 5] : [5, 7], 1);
      const b2 = t(tb ? [3, 7] : [7, 3], 2);
      const a3 = t(ta ? [4, 7, 5] : [4, 5, 7], 3);
      const b3 = t(tb ? [4, 3, 7] : [4, 7, 3], 4);
      const bias = t([3], 5);
      return [
        tf.matMul(a2, b2, ta, tb),
        tf.matMul(a3, b3, ta, tb),
        tf.fused.matMul({ a: a2, b: b2, transposeA: ta, transposeB: tb, bias, activation: 'relu' }),
      ];
    });
    assertAgree(r, `matMul(transposeA=${ta}, transposeB=${tb})`);
  }
});

test('Dense forward and gradients (batch 32, 1380→512→23) match cpu', async () => {
  const r = await onBothBackends(() => {
    const x = t([32, 1380], 11);
    const w1 = tf.variable(t([1380, 512], 12, 0.05));
    const w2 = tf.variable(t([512, 23], 13, 0.05));
    const b1 = tf.variable(t([512], 14, 0.1));
    const y = tf.tensor(
      data(32 * 23, 15).map((v) => (v > 0 ? 1 : 0)),
      [32, 23],
    );
    const loss = () =>
      tf.losses.sigmoidCrossEntropy(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2)) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss);
    const out = [value, grads[w1.name], grads[w2.name], grads[b1.name]];
    tf.dispose([x, y]);
    w1.dispose();
    w2.dispose();
    b1.dispose();
    return out;
  });
  assertAgree(r, 'dense');
});

test('UnsortedSegmentSum (added on wasm) matches cpu, dropping out-of-range ids', async () => {
  const r = await onBothBackends(() => [
    tf.unsortedSegmentSum(t([6, 4], 21), tf.tensor1d([0, 2, 2, 5, 0, 1], 'int32'), 4),
    tf.unsortedSegmentSum(t([5, 2, 3], 22), tf.tensor1d([1, 0, 1, 1, 2], 'int32'), 3),
  ]);
  assertAgree(r, 'unsortedSegmentSum');
  // id 5 ≥ numSegments is dropped: row 3 of the first input must not appear anywhere.
  assert.equal(r.wasm[0].length, 16);
});

test('gather gradient (an Embedding lookup) trains on wasm and matches cpu', async () => {
  const r = await onBothBackends(() => {
    const table = tf.variable(t([50, 8], 31));
    const ids = tf.tensor2d([3, 7, 3, 0, 49, 7, 7, 1], [2, 4], 'int32');
    const loss = () => tf.sum(tf.square(tf.gather(table, ids))) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss);
    const g = grads[table.name];
    table.dispose();
    ids.dispose();
    return [value, g];
  });
  assertAgree(r, 'gather grad');
  // Row 7 appears three times, row 2 never: its gradient is 3× (2·w) and zero respectively.
  assert.ok(r.wasm[1].slice(2 * 8, 3 * 8).every((v) => v === 0));
});

interface ConvCase {
  name: string;
  x: number[];
  filter: number[];
  strides: number;
  pad: 'same' | 'valid';
  depthwise: boolean;
}
const convCases: ConvCase[] = [
  { name: '1x1 pointwise', x: [2, 5, 5, 6], filter: [1, 1, 6, 9], strides: 1, pad: 'same', depthwise: false },
  { name: '1x1 stride 2', x: [2, 5, 5, 6], filter: [1, 1, 6, 4], strides: 2, pad: 'same', depthwise: false },
  { name: '3x3 same', x: [2, 6, 5, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same', depthwise: false },
  {
    name: '3x3 valid stride 2',
    x: [3, 7, 7, 2],
    filter: [3, 3, 2, 5],
    strides: 2,
    pad: 'valid',
    depthwise: false,
  },
  {
    name: 'depthwise 3x3 same',
    x: [2, 7, 7, 8],
    filter: [3, 3, 8, 1],
    strides: 1,
    pad: 'same',
    depthwise: true,
  },
  {
    name: 'depthwise 3x3 s2 x2',
    x: [2, 8, 7, 3],
    filter: [3, 3, 3, 2],
    strides: 2,
    pad: 'same',
    depthwise: true,
  },
];

for (const c of convCases) {
  test(`convolution gradients match cpu: ${c.name}`, async () => {
    const r = await onBothBackends(() => {
      const x = t(c.x, 41);
      const w = t(c.filter, 42, 0.5);
      const f = (xx: tf.Tensor, ww: tf.Tensor) => {
        const y = c.depthwise
          ? tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad, 'NHWC')
          : tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad);
        // A non-uniform upstream gradient, so every dy element matters.
        return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
      };
      const [dx, dw] = tf.grads(f)([x, w]);
      return [f(x, w), dx, dw];
    });
    assertAgree(r, c.name);
  });
}
