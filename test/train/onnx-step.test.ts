/**
 * The onnxruntime training step computes the same loss and gradients as tfjs for every family
 * it covers (dropout off in both, i.e. masks of ones), including rows with a missing modality.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { buildModel, specFor, type InputSpec, type ModelSpec } from '../../src/models/index.js';
import { pseudoRandomValues } from '../../src/engine/compare.js';
import { OnnxTrainingStep, UnsupportedError } from '../../src/train/onnx-step.js';
import { fit, trainingSchema } from '../../src/train/index.js';
import { featureInput, posterPlotData } from '../fusion/fixture.js';

const labels = Array.from({ length: 5 }, (_, i) => `g${i}`);
const inputs = [featureInput('poster', 12), featureInput('plot', 7)];
/** Three inputs (two of one modality, as the shipped GMU reads the poster): the gate is a softmax. */
const threeInputs = [inputs[0], { ...featureInput('poster', 5), id: 'poster_mid' }, inputs[1]];
const N = 9;

function batch(seed: number, ins: InputSpec[]): { x: Float32Array[]; y: Float32Array } {
  const x = ins.map((input, k) => pseudoRandomValues(N * input.shape[0], seed + k));
  // Row 2 has no first input, row 5 no last one, row 7 only the last: the gates and the
  // missing embedding mask them.
  const clear = (k: number, row: number) => x[k].fill(0, row * ins[k].shape[0], (row + 1) * ins[k].shape[0]);
  clear(0, 2);
  clear(ins.length - 1, 5);
  for (let k = 0; k < ins.length - 1; k++) clear(k, 7);
  const y = Float32Array.from(pseudoRandomValues(N * labels.length, seed + 9), (v) => (v > 0.3 ? 1 : 0));
  return { x, y };
}

/** tfjs' loss and gradients (inference-mode dropout, i.e. none) vs the compiled step's. */
async function compare(spec: ModelSpec, posWeight: Float32Array | null): Promise<void> {
  const ins = spec.inputs;
  const { model, logitsModel } = buildModel(spec, { seed: 3 });
  // Perturb every weight so that no gradient is zero by construction (zero-initialised gate kernels).
  tf.tidy(() =>
    logitsModel.weights.forEach((w, k) =>
      w.write(tf.add(w.read(), tf.tensor(pseudoRandomValues(w.read().size, 50 + k, 0.1), w.read().shape))),
    ),
  );
  const trainable = logitsModel.trainableWeights.map((w) => w.read() as tf.Variable);
  const step = await OnnxTrainingStep.compile(spec, logitsModel, trainable, { posWeight, threads: 2 });
  const { x, y } = batch(7, ins);
  const masks = step.dropout.map((d) => new Float32Array(N * d.width).fill(1));
  const onnxLoss = await step.run(x, y, N, masks);

  const xs = x.map((v, k) => tf.tensor2d(v, [N, ins[k].shape[0]]));
  const yt = tf.tensor2d(y, [N, labels.length]);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const z = logitsModel.apply(xs, { training: false }) as tf.Tensor;
        let pos = tf.mul(yt, tf.softplus(tf.neg(z)));
        if (posWeight) pos = tf.mul(pos, tf.tensor1d(posWeight));
        return tf.mean(tf.add(tf.mul(tf.sub(1, yt), tf.softplus(z)), pos)) as tf.Scalar;
      }),
    trainable,
  );
  assert.ok(Math.abs(value.dataSync()[0] - onnxLoss) < 1e-5, `loss ${value.dataSync()[0]} vs ${onnxLoss}`);
  for (const v of trainable) {
    const want = grads[v.name].dataSync();
    const got = step.grads[v.name]?.dataSync();
    assert.ok(got, `no gradient for ${v.name}`);
    let scale = 0;
    for (const a of want) scale = Math.max(scale, Math.abs(a));
    assert.ok(scale > 0, `${v.name}: tfjs gradient is all zero (test would prove nothing)`);
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(want[i] - got[i]));
    assert.ok(err <= 1e-4 * scale + 1e-7, `${v.name}: max error ${err} (scale ${scale})`);
  }
  tf.dispose([value, yt, ...xs, ...Object.values(grads)]);
  step.dispose();
  model.dispose();
}

test('onnx step: same loss and gradients as tfjs for heads and fusions', async (t) => {
  await initEngine({ backend: 'wasm' });
  const ctx = { labels, inputs };
  const pw = Float32Array.from(labels, (_, j) => 1 + j);
  const cases: Array<[string, ModelSpec, Float32Array | null]> = [
    ['logistic', specFor('logistic', { inputDropout: 0.2 }, ctx), pw],
    ['maxout', specFor('maxout', { hidden: [6], pieces: 3 }, ctx), pw],
    ['mlp 2 layers', specFor('mlp', { hidden: [6, 4], activation: 'tanh', inputDropout: 0.1 }, ctx), null],
    ['concat', specFor('concat', { project: 5, hidden: [], dropout: 0.5, inputDropout: 0.2 }, ctx), pw],
    ['sum', specFor('sum', { project: 5, hidden: [], sumActivation: 'tanh' }, ctx), pw],
    ['gmu', specFor('gmu', { project: 6, units: 4, hidden: [], gatePrior: { plot: 0.9 } }, ctx), pw],
    ['gmu, maxout head', specFor('gmu', { project: 6, units: 4, hidden: [5], dropout: 0.3 }, ctx), pw],
    ['gmu paper', specFor('gmu', { project: 0, units: 4, hidden: [], gateFrom: 'inputs' }, ctx), null],
    [
      'gmu over three inputs',
      specFor(
        'gmu',
        { project: 6, units: 4, hidden: [], gatePrior: { plot: 0.9 } },
        { labels, inputs: threeInputs },
      ),
      pw,
    ],
    [
      'gmu over three inputs, one gate value per modality',
      specFor(
        'gmu',
        { project: 6, units: 4, hidden: [], gateWidth: 'modality' },
        { labels, inputs: threeInputs },
      ),
      null,
    ],
    ['moe', specFor('moe', { project: 6, expertHidden: [4], dropout: 0.2 }, ctx), pw],
    [
      'moe over three inputs',
      specFor('moe', { project: 5, expertHidden: [] }, { labels, inputs: threeInputs }),
      null,
    ],
    [
      'gmu modality gate',
      specFor('gmu', { project: 6, units: 4, hidden: [], gateWidth: 'modality' }, ctx),
      pw,
    ],
  ];
  for (const [name, spec, posWeight] of cases) await t.test(name, () => compare(spec, posWeight));
});

test('onnx step: a model it cannot express is refused with UnsupportedError', async () => {
  await initEngine({ backend: 'wasm' });
  const spec = specFor('mlp', { hidden: [4], activation: 'elu' }, { labels, inputs });
  const { model, logitsModel } = buildModel(spec, { seed: 1 });
  const trainable = logitsModel.trainableWeights.map((w) => w.read() as tf.Variable);
  await assert.rejects(
    OnnxTrainingStep.compile(spec, logitsModel, trainable, { posWeight: null }),
    (e: unknown) => e instanceof UnsupportedError && /elu/.test(e.message),
  );
  model.dispose();
});

test('fit: the onnx engine trains a GMU as well as tfjs does; auto falls back for an ELU MLP, onnx refuses it', async () => {
  await initEngine({ backend: 'wasm' });
  const fx = posterPlotData([24, 10], 4, { train: 320, dev: 80, test: 0 });
  const spec = specFor('gmu', { project: 8, units: 8, hidden: [], dropout: 0.2 }, fx);
  const settings = (engine: string) =>
    trainingSchema.parse({
      epochs: 6,
      patience: 0,
      lr: 0.01,
      classWeights: 'balanced',
      modalityDropout: 0.2,
      engine,
    });
  const onnx = await fit(spec, fx.data, { settings: settings('onnx'), progress: false });
  const tfjs = await fit(spec, fx.data, { settings: settings('tfjs'), progress: false });
  assert.equal(onnx.engine, 'onnx');
  assert.equal(tfjs.engine, 'tfjs');
  // Different dropout streams, same model and data: both learn, to within seed noise of each other.
  assert.ok(onnx.history[5].loss < onnx.history[0].loss, 'onnx: the loss falls');
  assert.ok(onnx.bestDevMacroF1 > 0.5, `onnx dev macro-F1 ${onnx.bestDevMacroF1}`);
  assert.ok(
    Math.abs(onnx.bestDevMacroF1 - tfjs.bestDevMacroF1) < 0.1,
    `${onnx.bestDevMacroF1} vs ${tfjs.bestDevMacroF1}`,
  );
  onnx.built.model.dispose();
  tfjs.built.model.dispose();

  const elu = specFor('mlp', { hidden: [8], activation: 'elu' }, fx);
  const auto = await fit(elu, fx.data, { settings: { ...settings('auto'), epochs: 1 }, progress: false });
  assert.equal(auto.engine, 'tfjs');
  auto.built.model.dispose();
  await assert.rejects(
    fit(elu, fx.data, { settings: { ...settings('onnx'), epochs: 1 }, progress: false }),
    /activation 'elu'/,
  );
});
