import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf, tfl } from '../../src/engine/index.js';
import { buildModel, prepareOps, specFor } from '../../src/models/index.js';
import { fit, loadRun, trainOnData } from '../../src/train/index.js';
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
  const spec = specFor('gmu', options, { labels, inputs });
  const node = spec.nodes.find((n) => n.id === 'plot_project')!;
  assert.equal(node.op, 'pretrained_layer');
  assert.equal(node.frozen, true);
  await prepareOps(spec);
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
  const spec = specFor(
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
  await prepareOps(spec);
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
    () => specFor('gmu', { branches: { plot: { from: { run: missing } } } }, { labels, inputs }),
    /is not a finished run/,
  );
  const source = await plotRun();
  const other = [inputs[0], featureInput('plot', DIMS[1], 'glove-mean')];
  assert.throws(
    () => specFor('gmu', { branches: { plot: { from: { run: source } } } }, { labels, inputs: other }),
    /does not match the source run/,
  );
  assert.throws(
    () =>
      specFor('gmu', { branches: { plot: { from: { run: source, layer: 'output' } } } }, { labels, inputs }),
    /only dense or maxout/,
  );
});

test("a branch from a two-layer MLP's last hidden layer copies the layers below it and computes what the source computes", async () => {
  const source = await trainPlotRun(fx, settings(), { hidden: [8, 6], dropout: 0.3 });
  const spec = specFor(
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
  await prepareOps(spec);
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
