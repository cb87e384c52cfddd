import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf, tfl } from '../../src/engine/index.js';
import { maxRelativeDifference, onBothBackends } from '../helpers/backends.js';

// One SGD step of small tf.layers models on wasm and on cpu, from the same seeded weights:
// every kernel a training step needs must exist on wasm and agree with the reference.

function seeded(seed: number) {
  return tfl.initializers.glorotUniform({ seed });
}

async function oneStep(build: () => tfl.LayersModel, x: () => tf.Tensor, y: () => tf.Tensor) {
  return onBothBackends(async () => {
    const model = build();
    model.compile({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy' });
    const xs = x();
    const ys = y();
    const loss = (await model.trainOnBatch(xs, ys)) as number;
    const out = [tf.scalar(loss), ...model.getWeights().map((w) => tf.clone(w))];
    tf.dispose([xs, ys]);
    model.dispose();
    return out;
  });
}

function assertAgree(r: Record<'wasm' | 'cpu', Float32Array[]>, what: string): void {
  r.cpu.forEach((ref, i) => {
    const d = maxRelativeDifference(r.wasm[i], ref);
    assert.ok(d <= 2e-4, `${what}: output ${i} differs by ${d.toExponential(2)}`);
  });
}

const labels = () => tf.tensor2d([1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0], [4, 3]);

for (const kind of ['gru', 'lstm'] as const) {
  test(`masked bidirectional ${kind.toUpperCase()} over an Embedding: one training step matches cpu`, async () => {
    const r = await oneStep(
      () => {
        const inp = tfl.input({ shape: [6] });
        let h = tfl.layers
          .embedding({ inputDim: 20, outputDim: 5, maskZero: true, embeddingsInitializer: seeded(1) })
          .apply(inp) as tfl.SymbolicTensor;
        const opts = { units: 4, kernelInitializer: seeded(2), recurrentInitializer: seeded(3) };
        const cell = kind === 'gru' ? tfl.layers.gru(opts) : tfl.layers.lstm(opts);
        h = tfl.layers.bidirectional({ layer: cell as tfl.RNN }).apply(h) as tfl.SymbolicTensor;
        const out = tfl.layers.dense({ units: 3, activation: 'sigmoid', kernelInitializer: seeded(4) });
        return tfl.model({ inputs: inp, outputs: out.apply(h) as tfl.SymbolicTensor });
      },
      // Trailing zeros are padding (masked).
      () => tf.tensor2d([3, 5, 7, 0, 0, 0, 1, 2, 3, 4, 5, 6, 9, 0, 0, 0, 0, 0, 19, 18, 2, 2, 0, 0], [4, 6]),
      labels,
    );
    assertAgree(r, kind);
  });
}

test('MobileNetV2-style block (1×1, BN, ReLU6, depthwise 3×3, residual, strided 3×3): one step matches cpu', async () => {
  const r = await oneStep(
    () => {
      const inp = tfl.input({ shape: [7, 7, 8] });
      const L = tfl.layers;
      let h = L.conv2d({ filters: 16, kernelSize: 1, useBias: false, kernelInitializer: seeded(5) }).apply(
        inp,
      ) as tfl.SymbolicTensor;
      h = L.batchNormalization().apply(h) as tfl.SymbolicTensor;
      h = L.reLU({ maxValue: 6 }).apply(h) as tfl.SymbolicTensor;
      h = L.depthwiseConv2d({
        kernelSize: 3,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: seeded(6),
      }).apply(h) as tfl.SymbolicTensor;
      h = L.batchNormalization().apply(h) as tfl.SymbolicTensor;
      h = L.reLU({ maxValue: 6 }).apply(h) as tfl.SymbolicTensor;
      h = L.conv2d({ filters: 8, kernelSize: 1, kernelInitializer: seeded(7) }).apply(
        h,
      ) as tfl.SymbolicTensor;
      h = L.add().apply([h, inp]) as tfl.SymbolicTensor;
      h = L.conv2d({
        filters: 12,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu6',
        kernelInitializer: seeded(8),
      }).apply(h) as tfl.SymbolicTensor;
      h = L.globalAveragePooling2d({}).apply(h) as tfl.SymbolicTensor;
      const out = L.dense({ units: 3, activation: 'sigmoid', kernelInitializer: seeded(9) });
      return tfl.model({ inputs: inp, outputs: out.apply(h) as tfl.SymbolicTensor });
    },
    () => tf.sin(tf.reshape(tf.range(0, 4 * 7 * 7 * 8), [4, 7, 7, 8])),
    labels,
  );
  assertAgree(r, 'mbv2 block');
});

test('Adam and dropout train on wasm: loss falls over a few epochs', async () => {
  await initEngine({ backend: 'wasm' });
  const inp = tfl.input({ shape: [10] });
  let h = tfl.layers.dense({ units: 16, activation: 'relu', kernelInitializer: seeded(10) }).apply(inp);
  h = tfl.layers.dropout({ rate: 0.2, seed: 1 }).apply(h);
  const out = tfl.layers.dense({ units: 3, activation: 'sigmoid', kernelInitializer: seeded(11) }).apply(h);
  const model = tfl.model({ inputs: inp, outputs: out as tfl.SymbolicTensor });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'binaryCrossentropy' });
  const x = tf.sin(tf.reshape(tf.range(0, 64 * 10), [64, 10]));
  const y = tf.cast(tf.greater(tf.slice(x, [0, 0], [64, 3]), 0), 'float32');
  const hist = await model.fit(x, y, { epochs: 30, batchSize: 16, verbose: 0, shuffle: false });
  const losses = hist.history.loss as number[];
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[losses.length - 1] < losses[0] * 0.7, `loss ${losses[0]} → ${losses[losses.length - 1]}`);
  model.dispose();
  tf.dispose([x, y]);
});
