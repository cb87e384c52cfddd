import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf, tfl } from '../../src/engine/index.js';
import { specWithSources } from '../../src/runs/source-layer.js';
import { loadRun, parseConfig, trainOnData } from '../../src/train/index.js';
import { Forward } from '../../src/predict/forward.js';
import { tempDir } from '../helpers/shared.js';
import { plotMlpSettings, posterPlotData, trainPlotRun } from './fixture.js';

const fx = posterPlotData([20, 10], 3);
const { dims: DIMS, data, inputs, labels } = fx;
const settings = plotMlpSettings('gmu-identity-test', 7);
const plotRun = (): Promise<string> => trainPlotRun(fx, settings);

type Model = Awaited<ReturnType<typeof loadRun>>['model'];
type Sym = InstanceType<typeof tfl.SymbolicTensor>;
/** Outputs of the named layers for inputs xs (rows of each input). */
function outputsOf(model: Model, layers: string[], xs: tf.Tensor[]): Float32Array[] {
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: layers.map((l) => model.getLayer(l).output as Sym),
  });
  const ys = sub.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor | tf.Tensor[];
  return (Array.isArray(ys) ? ys : [ys]).map((y) => {
    const a = y.dataSync() as Float32Array;
    y.dispose();
    return a;
  });
}

test('a GMU with the plot kept as identity: h mixes the poster into the trained text layer itself', async () => {
  const source = await plotRun();
  const options = {
    project: 6,
    dropout: 0,
    identity: ['plot'],
    branches: { plot: { from: { run: source } } },
  };
  const spec = specWithSources('gmu', options, { labels, inputs });
  // No re-encoding of the plot; the poster is projected to the kept layer's width (8).
  assert.equal(
    spec.nodes.find((n) => n.id === 'gmu_h_plot'),
    undefined,
  );
  assert.deepEqual(spec.nodes.find((n) => n.op === 'gmu_combine')!.inputs, [
    'gmu_h_poster',
    'plot_project',
    'gmu_gate',
  ]);
  assert.equal(spec.nodes.find((n) => n.id === 'gmu_h_poster')!.params.units, 8);
  assert.equal(spec.nodes.find((n) => n.id === 'gmu_gate')!.params.units, 8);

  const out = join(tempDir(), 'gmu-identity');
  const cfg = parseConfig({ ...settings, name: 'gmu-identity', model: { type: 'gmu' } });
  const r = await trainOnData(cfg, spec, data, [{ kind: 'none' }, { kind: 'none' }], {
    out,
    progress: false,
  });
  assert.equal(r.status, 'done');
  const fused = await loadRun(out);
  const src = await loadRun(source);
  const n = 10;
  const poster = data.test!.x[0].slice(0, n * DIMS[0]);
  poster.fill(0, 0, DIMS[0]); // movie 0 has no poster
  const plot = data.test!.x[1].slice(0, n * DIMS[1]);
  const xs = [tf.tensor2d(poster, [n, DIMS[0]]), tf.tensor2d(plot, [n, DIMS[1]])];
  const [hText, hPoster, gate, h] = outputsOf(
    fused.model,
    ['plot_project', 'gmu_h_poster', 'gmu_gate', 'gmu'],
    xs,
  );
  const [trained] = outputsOf(src.model, ['hidden_1'], [xs[1]]);
  // The plot's h is the trained text run's hidden layer, untouched by the fusion's training.
  for (let i = 0; i < hText.length; i++) assert.ok(Math.abs(hText[i] - trained[i]) < 1e-5);
  const U = 8;
  for (let row = 0; row < n; row++)
    for (let u = 0; u < U; u++) {
      const z = gate[row * 2 * U + u];
      const want = z * hPoster[row * U + u] + (1 - z) * hText[row * U + u];
      assert.ok(Math.abs(h[row * U + u] - want) < 1e-5, `row ${row} unit ${u}`);
      // No poster: z = 0, h is the text representation exactly.
      if (row === 0) assert.ok(Math.abs(h[u] - trained[u]) < 1e-6);
    }
  assert.ok(
    gate.slice(2 * U).some((z) => z > 0.01 && z < 0.99),
    'the gate mixes where both are present',
  );
  // Gate shares and exact per-genre parts still come out for predict.
  const fwd = new Forward(fused.model, fused.spec).run([poster, plot], n, DIMS);
  assert.ok(fwd.shares && fwd.genreParts);
  assert.equal(fwd.shares[0], 0, 'an absent poster has no share');
  xs.forEach((x) => x.dispose());
  fused.model.dispose();
  src.model.dispose();
});

test('identity branches are checked: unknown input, clashing units, all inputs kept', () => {
  const plain = { project: 8, dropout: 0 };
  assert.throws(
    () => specWithSources('gmu', { ...plain, identity: ['audio'] }, { labels, inputs }),
    /no input 'audio'/,
  );
  assert.throws(
    () => specWithSources('gmu', { ...plain, identity: ['plot'], units: 16 }, { labels, inputs }),
    /units is 16/,
  );
  assert.throws(
    () => specWithSources('gmu', { ...plain, identity: ['plot', 'poster'] }, { labels, inputs }),
    /at least one input/,
  );
  // Without `from`, a kept branch is its projection (8 here), and the default stays 64 without any.
  const kept = specWithSources('gmu', { ...plain, identity: ['plot'] }, { labels, inputs });
  assert.equal(kept.nodes.find((n) => n.id === 'gmu_gate')!.params.units, 8);
  const paper = specWithSources('gmu', plain, { labels, inputs });
  assert.equal(paper.nodes.find((n) => n.id === 'gmu_gate')!.params.units, 64);
});
