/**
 * The onnxruntime training step computes the same loss and gradients as tfjs for every family
 * it covers (dropout off in both, i.e. masks of ones), including rows with a missing modality.
 */
import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.js';
import { buildModel, specFor, type ModelSpec } from '../../src/models/index.js';
import { OnnxTrainingStep, UnsupportedError } from '../../src/train/onnx-step.js';
import { FusedAdam } from '../../src/engine/fused-adam.js';
import { fit, trainingSchema } from '../../src/train/index.js';
import { featureInput, posterPlotData } from '../fusion/fixture.js';
import { batch, compareOnnxGradients, N } from '../helpers/onnx-gradients.js';
import { tempDir } from '../helpers/shared.js';

const labels = Array.from({ length: 5 }, (_, i) => `g${i}`);
const inputs = [featureInput('poster', 12), featureInput('plot', 7)];
/** Three inputs (two of one modality, as the shipped GMU reads the poster): the gate is a softmax. */
const threeInputs = [inputs[0], { ...featureInput('poster', 5), id: 'poster_mid' }, inputs[1]];

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
  for (const [name, spec, posWeight] of cases)
    await t.test(name, () => compareOnnxGradients(spec, posWeight));
});

test('onnx step: the training layout moves kernels and their Adam moments, and back exactly', async () => {
  await initEngine({ backend: 'wasm' });
  const spec = specFor('mlp', { hidden: [6], dropout: 0 }, { labels, inputs: [inputs[0]] });
  const { model, logitsModel } = buildModel(spec, { seed: 2 });
  const trainable = logitsModel.trainableWeights.map((w) => w.read() as tf.Variable);
  const adam = new FusedAdam(trainable, { learningRate: 0.01 });
  const step = await OnnxTrainingStep.compile(spec, logitsModel, trainable, { posWeight: null });
  const { x, y } = batch(3, [inputs[0]], labels.length);
  await assert.rejects(step.run([x[0]], y, N, []), /useTrainingLayout/);
  const kernel = trainable.find((v) => v.shape.length === 2 && v.shape[0] === 12)!;
  const [rows, cols] = kernel.shape;
  const w0 = kernel.dataSync().slice();
  step.useTrainingLayout([adam]);
  step.useTrainingLayout([adam]); // idempotent
  // [12, 6] now holds the transpose, row-major [6, 12].
  const t = kernel.dataSync();
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) assert.equal(t[j * rows + i], w0[i * cols + j]);
  for (let k = 0; k < 3; k++) {
    await step.run([x[0]], y, N, []);
    adam.applyGradients(step.grads);
  }
  step.useModelLayout([adam]);
  // The same three Adam steps in tfjs' layout from the same start: equal weights and moments.
  const { model: twin, logitsModel: twinLogits } = buildModel(spec, { seed: 2 });
  const twinVars = twinLogits.trainableWeights.map((w) => w.read() as tf.Variable);
  const twinAdam = new FusedAdam(twinVars, { learningRate: 0.01 });
  const twinStep = await OnnxTrainingStep.compile(spec, twinLogits, twinVars, {
    posWeight: null,
    kernelLayout: 'model',
  });
  for (let k = 0; k < 3; k++) {
    await twinStep.run([x[0]], y, N, []);
    twinAdam.applyGradients(twinStep.grads);
  }
  const close = (a: Float32Array, b: Float32Array, what: string) => {
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i] - b[i]));
    assert.ok(err < 1e-6, `${what}: max difference ${err}`);
  };
  trainable.forEach((v, k) =>
    close(v.dataSync() as Float32Array, twinVars[k].dataSync() as Float32Array, v.name),
  );
  const state = adam.exportState();
  twinAdam.exportState().forEach((s, k) => close(state[k].values, s.values, `Adam state ${k}`));
  [step, twinStep].forEach((s) => s.dispose());
  [adam, twinAdam].forEach((a) => a.dispose());
  [model, twin].forEach((m) => m.dispose());
});

test('fit: a long epoch (≥ 128 batches) trains with transposed kernels and ends in tfjs layout, as tfjs trains', async () => {
  await initEngine({ backend: 'wasm' });
  const fx = posterPlotData([24, 10], 5, { train: 260, dev: 60, test: 0 });
  const spec = specFor('gmu', { project: 8, units: 8, hidden: [], dropout: 0 }, fx);
  // Batch 2: 130 batches per epoch. No dropout of any kind, so both engines do the same arithmetic.
  const settings = (engine: string) =>
    trainingSchema.parse({ epochs: 2, patience: 0, lr: 0.005, batchSize: 2, modalityDropout: 0, engine });
  const onnx = await fit(spec, fx.data, { settings: settings('onnx'), progress: false });
  const tfjs = await fit(spec, fx.data, { settings: settings('tfjs'), progress: false });
  assert.equal(onnx.engine, 'onnx');
  for (let e = 0; e < 2; e++) {
    const [a, b] = [onnx.history[e], tfjs.history[e]];
    assert.ok(Math.abs(a.loss - b.loss) < 1e-3 * b.loss, `epoch ${e + 1} loss ${a.loss} vs ${b.loss}`);
    assert.ok(
      Math.abs(a.devMacroF1 - b.devMacroF1) < 0.02,
      `epoch ${e + 1} dev ${a.devMacroF1} vs ${b.devMacroF1}`,
    );
  }
  // The weights come back in tfjs' layout: they match tfjs' own run weight for weight.
  const [wa, wb] = [onnx.built.model.getWeights(), tfjs.built.model.getWeights()];
  wa.forEach((w, k) => {
    const [x, y] = [w.dataSync(), wb[k].dataSync()];
    let err = 0;
    let scale = 0;
    for (let i = 0; i < x.length; i++) {
      err = Math.max(err, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(y[i]));
    }
    assert.ok(
      err < 1e-3 * Math.max(scale, 1),
      `weight ${k} ${w.shape}: max difference ${err} (scale ${scale})`,
    );
  });
  onnx.built.model.dispose();
  tfjs.built.model.dispose();
});

test("onnx step: gradientOutputs 'summed' (benchmarks) computes the same loss and hands no gradient back", async () => {
  await initEngine({ backend: 'wasm' });
  const spec = specFor('gmu', { project: 6, units: 4, hidden: [] }, { labels, inputs });
  const { model, logitsModel } = buildModel(spec, { seed: 4 });
  const trainable = logitsModel.trainableWeights.map((w) => w.read() as tf.Variable);
  const { x, y } = batch(11, inputs, labels.length);
  const losses = [];
  for (const gradientOutputs of ['returned', 'summed'] as const) {
    const step = await OnnxTrainingStep.compile(spec, logitsModel, trainable, {
      posWeight: null,
      kernelLayout: 'model',
      gradientOutputs,
    });
    const masks = step.dropout.map((d) => new Float32Array(N * d.width).fill(1));
    losses.push(await step.run(x, y, N, masks));
    const touched = trainable.filter((v) => step.grads[v.name].dataSync().some((g) => g !== 0));
    if (gradientOutputs === 'summed') assert.equal(touched.length, 0);
    else assert.equal(touched.length, trainable.length);
    step.dispose();
  }
  assert.equal(losses[0], losses[1]);
  model.dispose();
});

test("onnx step: profileFilePrefix (benchmarks) writes onnxruntime's kernel profile, one run per step", async () => {
  await initEngine({ backend: 'wasm' });
  const spec = specFor('gmu', { project: 6, units: 4, hidden: [] }, { labels, inputs });
  const { model, logitsModel } = buildModel(spec, { seed: 4 });
  const trainable = logitsModel.trainableWeights.map((w) => w.read() as tf.Variable);
  const dir = tempDir('mmgenre-ort-profile-');
  const step = await OnnxTrainingStep.compile(spec, logitsModel, trainable, {
    posWeight: null,
    kernelLayout: 'model',
    profileFilePrefix: join(dir, 'step'),
  });
  const { x, y } = batch(11, inputs, labels.length);
  const masks = step.dropout.map((d) => new Float32Array(N * d.width).fill(1));
  for (let i = 0; i < 3; i++) await step.run(x, y, N, masks);
  step.endProfiling();
  step.dispose();
  model.dispose();
  const files = readdirSync(dir).filter((f) => f.startsWith('step') && f.endsWith('.json'));
  assert.equal(files.length, 1, `profile files: ${readdirSync(dir).join(', ')}`);
  const events = JSON.parse(readFileSync(join(dir, files[0]), 'utf8')) as Array<{
    cat: string;
    name: string;
    args?: { op_name?: string };
  }>;
  assert.equal(events.filter((e) => e.cat === 'Session' && e.name === 'model_run').length, 3);
  const ops = new Set(events.filter((e) => e.cat === 'Node').map((e) => e.args?.op_name));
  assert.ok(
    [...ops].some((op) => /Gemm/.test(op ?? '')),
    `kernels profiled: ${[...ops].join(', ')}`,
  );
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
