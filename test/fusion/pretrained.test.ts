import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf, tfl } from '../../src/engine/index.js';
import { buildModel } from '../../src/models/index.js';
import { prepareWithSources, specWithSources } from '../../src/runs/source-layer.js';
import { fit, loadConfig, loadRun, parseConfig, trainOnData } from '../../src/train/index.js';
import { specFromConfig } from '../../src/report/spec-source.js';
import { tempDir } from '../helpers/shared.js';
import { featureInput, plotMlpSettings, posterPlotData, trainPlotRun } from './fixture.js';

const fx = posterPlotData([32, 12], 5, { train: 200, dev: 60, test: 60 });
const { dims: DIMS, data, inputs, labels } = fx;
const settings = (over: Record<string, unknown> = {}) => plotMlpSettings('pretrained-test', 11, over);
const plotRun = (): Promise<string> => trainPlotRun(fx, settings());

const kernelOf = (model: Awaited<ReturnType<typeof loadRun>>['model'], layer: string): Float32Array =>
  model.getLayer(layer).getWeights()[0].dataSync() as Float32Array;

test('a GMU branch taken from a trained run: weights copied, frozen through training, saved with the fusion', async () => {
  const source = await plotRun();
  const src = await loadRun(source);
  const srcKernel = kernelOf(src.model, 'hidden_1');
  const options = { project: 8, units: 8, dropout: 0, branches: { plot: { from: { run: source } } } };
  const spec = specWithSources('gmu', options, { labels, inputs });
  const node = spec.nodes.find((n) => n.id === 'plot_project')!;
  assert.equal(node.op, 'pretrained_layer');
  assert.equal(node.frozen, true);
  await prepareWithSources(spec);
  const built = buildModel(spec, { seed: 1 });
  assert.deepEqual(kernelOf(built.model, 'plot_project'), srcKernel);
  assert.equal(built.model.getLayer('plot_project').trainable, false);
  built.model.dispose();

  const out = join(tempDir(), 'gmu');
  const r = await trainOnData(settings({ epochs: 4 }), spec, data, [{ kind: 'none' }, { kind: 'none' }], {
    out,
    progress: false,
  });
  assert.equal(r.status, 'done');
  const fused = await loadRun(out);
  // Frozen: the trained fusion still holds the source's layer; the poster projection did train.
  assert.deepEqual(kernelOf(fused.model, 'plot_project'), srcKernel);
  assert.ok(kernelOf(fused.model, 'poster_project').some((v) => Number.isFinite(v) && v !== 0));
  src.model.dispose();
  fused.model.dispose();
});

test('a fine-tuned branch from a run starts at its weights and moves', async () => {
  const source = await plotRun();
  const src = await loadRun(source);
  const srcKernel = kernelOf(src.model, 'hidden_1');
  const spec = specWithSources(
    'concat',
    {
      project: 8,
      dropout: 0,
      branches: { plot: { from: { run: source, layer: 'hidden_1' }, freeze: false, lrScale: 0.5 } },
    },
    { labels, inputs },
  );
  const node = spec.nodes.find((n) => n.id === 'plot_project')!;
  assert.equal(node.frozen, false);
  assert.equal(node.lrScale, 0.5);
  await prepareWithSources(spec);
  const res = await fit(spec, data, { settings: settings({ epochs: 2 }).training, progress: false });
  const after = kernelOf(res.built.model, 'plot_project');
  assert.notDeepEqual(after, srcKernel);
  const drift = after.reduce((s, v, i) => s + Math.abs(v - srcKernel[i]), 0) / after.length;
  const scale = srcKernel.reduce((s, v) => s + Math.abs(v), 0) / srcKernel.length;
  assert.ok(drift < scale, `fine-tuning starts from the source: drift ${drift} vs weight scale ${scale}`);
  res.built.model.dispose();
  src.model.dispose();
});

test('a branch source that is absent, unfinished or encoded differently is refused with the reason', async () => {
  const missing = join(tempDir(), 'nope');
  assert.throws(
    () => specWithSources('gmu', { branches: { plot: { from: { run: missing } } } }, { labels, inputs }),
    /is not a finished run/,
  );
  const source = await plotRun();
  const other = [inputs[0], featureInput('plot', DIMS[1], 'glove-mean')];
  assert.throws(
    () =>
      specWithSources('gmu', { branches: { plot: { from: { run: source } } } }, { labels, inputs: other }),
    /does not match the source run/,
  );
  assert.throws(
    () =>
      specWithSources(
        'gmu',
        { branches: { plot: { from: { run: source, layer: 'nope' } } } },
        { labels, inputs },
      ),
    /no layer 'nope'/,
  );
});

/** A run over both fixture inputs (as poster-frozen reads two poster layers): `type` on [poster; plot]. */
async function trainTwoInputRun(type: string, model: Record<string, unknown> = {}): Promise<string> {
  const out = join(tempDir(), `two-${type}`);
  const config = parseConfig({
    name: `two-${type}`,
    inputs: [
      { id: 'poster', encoder: 'synthetic', normalize: 'none' },
      { id: 'plot', encoder: 'synthetic', normalize: 'none' },
    ],
    model: { type, ...model },
    training: { epochs: 3, patience: 0, lr: 0.01, seed: 4 },
  });
  const spec = specWithSources(type, model, { labels, inputs });
  const r = await trainOnData(config, spec, data, [{ kind: 'none' }, { kind: 'none' }], {
    out,
    progress: false,
  });
  assert.equal(r.status, 'done');
  return out;
}

test("branches from a logistic run over two inputs split its logits by input, and their sum is the run's logits", async () => {
  const source = await trainTwoInputRun('logistic');
  const from = { from: { run: source } };
  const spec = specWithSources(
    'concat',
    { dropout: 0, branches: { poster: from, plot: from } },
    { labels, inputs },
  );
  const rows = spec.nodes.filter((n) => n.op === 'pretrained_layer').map((n) => [n.id, n.params.rows]);
  assert.deepEqual(rows, [
    ['poster_project', { offset: 0, count: DIMS[0], bias: true }],
    ['plot_project', { offset: DIMS[0], count: DIMS[1], bias: false }],
  ]);
  await prepareWithSources(spec);
  const built = buildModel(spec, { seed: 2 });
  const src = await loadRun(source);
  const n = 16;
  const x = [0, 1].map((k) => tf.tensor2d(data.test!.x[k].subarray(0, n * DIMS[k]), [n, DIMS[k]]));
  const logits = tfl.model({
    inputs: src.model.inputs,
    outputs: src.model.getLayer('output_logits').output as never,
  });
  const parts = tfl.model({
    inputs: built.model.inputs,
    outputs: ['poster_project', 'plot_project'].map((id) => built.model.getLayer(id).output) as never,
  });
  const want = (logits.predict(x) as tf.Tensor).dataSync();
  const [p, t] = (parts.predict(x) as tf.Tensor[]).map((y) => y.dataSync());
  assert.equal(p.length, n * labels.length);
  assert.ok(
    want.some((v) => Math.abs(v) > 1e-3),
    'the source logits are not all zero',
  );
  for (let i = 0; i < want.length; i++)
    assert.ok(Math.abs(p[i] + t[i] - want[i]) < 1e-4, `logit ${i}: ${p[i]} + ${t[i]} vs ${want[i]}`);
  // Each branch alone is a different function of its own input only (not the whole logit).
  assert.ok(t.some((v, i) => Math.abs(v - want[i]) > 1e-3));
  tf.dispose(x);
  built.model.dispose();
  src.model.dispose();
});

test('a branch from a nonlinear layer over two inputs is refused: it does not split by input', async () => {
  const source = await trainTwoInputRun('mlp', { hidden: [6], dropout: 0 });
  assert.throws(
    () => specWithSources('gmu', { branches: { plot: { from: { run: source } } } }, { labels, inputs }),
    /only a linear layer on their concatenation splits/,
  );
});

test("a branch from a two-layer MLP's last hidden layer copies the layers below it and computes what the source computes", async () => {
  const source = await trainPlotRun(fx, settings(), { hidden: [8, 6], dropout: 0.3 });
  const spec = specWithSources(
    'concat',
    { project: 4, branches: { plot: { from: { run: source } } } },
    { labels, inputs },
  );
  const chain = spec.nodes.filter((n) => n.op === 'pretrained_layer');
  assert.deepEqual(
    chain.map((n) => [n.id, n.inputs[0], n.params.layer]),
    [
      ['plot_from_hidden_1', 'plot', 'hidden_1'],
      ['plot_project', 'plot_from_hidden_1', 'hidden_2'],
    ],
  );
  await prepareWithSources(spec);
  const built = buildModel(spec, { seed: 3 });
  const src = await loadRun(source);
  // Same plot rows through the source (dropout is off at prediction) and through the fusion's branch.
  const rows = 16;
  const plot = tf.tensor2d(data.test!.x[1].subarray(0, rows * DIMS[1]), [rows, DIMS[1]]);
  const poster = tf.zeros([rows, DIMS[0]]);
  const sourceOut = tfl.model({
    inputs: src.model.inputs,
    outputs: src.model.getLayer('hidden_2').output as never,
  });
  const branchOut = tfl.model({
    inputs: built.model.inputs,
    outputs: built.model.getLayer('plot_project').output as never,
  });
  const want = (sourceOut.predict(plot) as tf.Tensor).dataSync();
  const got = (branchOut.predict([poster, plot]) as tf.Tensor).dataSync();
  assert.equal(got.length, rows * 6);
  assert.ok(
    want.some((v) => v > 0),
    'the source layer is not all zero',
  );
  for (let i = 0; i < got.length; i++)
    assert.ok(Math.abs(got[i] - want[i]) < 1e-5, `unit ${i}: ${got[i]} vs ${want[i]}`);
  assert.equal(built.model.getLayer('plot_from_hidden_1').trainable, false);
  tf.dispose([plot, poster]);
  built.model.dispose();
  src.model.dispose();
});

test("before poster-frozen is trained, a fusion's branches from it are planned from the shipped config (for diagrams)", async () => {
  const fusion = loadConfig('fusion-gmu');
  const frozen = loadConfig('poster-frozen');
  const from = { from: { run: 'poster-frozen' } };
  // The fusion reads every poster input poster-frozen reads, each a branch from its logits.
  const posterInputs = frozen.inputs.map(({ trainViews: _views, ...i }) => i);
  const planned = parseConfig({
    ...fusion,
    name: 'gmu-poster-frozen',
    inputs: [...posterInputs, ...fusion.inputs.filter((i) => !frozen.inputs.some((f) => f.id === i.id))],
    model: {
      ...fusion.model,
      branches: {
        ...(fusion.model.branches as object),
        ...Object.fromEntries(frozen.inputs.map((i) => [i.id, from])),
      },
    },
  });
  const spec = await specFromConfig(planned);
  const rows = spec.nodes.filter((n) => n.params.rows).map((n) => [n.id, n.params.layer, n.params.rows]);
  assert.deepEqual(rows, [
    ['poster_project', 'output_logits', { offset: 0, count: 1280, bias: true }],
    ['poster_mid_project', 'output_logits', { offset: 1280, count: 160, bias: false }],
    ['poster_expand_project', 'output_logits', { offset: 1440, count: 576, bias: false }],
  ]);
  assert.equal(spec.nodes.find((n) => n.id === 'gmu_h_poster')!.inputs[0], 'poster_project');
});
