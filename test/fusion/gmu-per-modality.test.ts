import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf, tfl } from '../../src/engine/index.js';
import { buildModel, specFor, type InputSpec } from '../../src/models/index.js';
import { featureInput } from './fixture.js';

// Two poster layers (as the shipped fusions read them) and the plot.
const inputs: InputSpec[] = [
  featureInput('poster', 6),
  { ...featureInput('poster', 4), id: 'poster_mid' },
  featureInput('plot', 5),
];
const labels = ['a', 'b', 'c'];

test("hPer 'modality': the poster's two inputs share one h over both branches, the gate keeps a part per input", async () => {
  await initEngine();
  const spec = specFor('gmu', { project: 3, units: 4, dropout: 0, hPer: 'modality' }, { labels, inputs });
  const node = (id: string) => spec.nodes.find((n) => n.id === id);
  assert.deepEqual(node('gmu_h_poster_input')!.inputs, ['poster_project', 'poster_mid_project']);
  assert.equal(node('gmu_h_poster_mid'), undefined);
  assert.deepEqual(node('gmu')!.inputs, ['gmu_h_poster', 'gmu_h_poster', 'gmu_h_plot', 'gmu_gate']);
  assert.equal(node('gmu_gate')!.params.modalities, 3);

  // The mix is z_poster · h_poster + z_plot · h_plot with z_poster the two poster parts' sum.
  const { model } = buildModel(spec, { seed: 5 });
  const n = 7;
  const xs = inputs.map((i, k) => tf.randomNormal([n, i.shape[0]], 0, 1, 'float32', k + 1));
  const sub = tfl.model({
    inputs: model.inputs,
    outputs: ['gmu_h_poster', 'gmu_h_plot', 'gmu_gate', 'gmu'].map(
      (id) => model.getLayer(id).output as InstanceType<typeof tfl.SymbolicTensor>,
    ),
  });
  const [hp, ht, w, h] = (sub.predict(xs) as tf.Tensor[]).map((t) => t.arraySync() as number[][]);
  for (let r = 0; r < n; r++)
    for (let u = 0; u < 4; u++) {
      const want = (w[r][u] + w[r][4 + u]) * hp[r][u] + w[r][8 + u] * ht[r][u];
      assert.ok(Math.abs(h[r][u] - want) < 1e-5, `row ${r} unit ${u}: ${h[r][u]} vs ${want}`);
    }
  tf.dispose(xs);
  model.dispose();
});

test("hPer 'modality' refuses a modality whose inputs are partly kept as identity", () => {
  assert.throws(
    () => specFor('gmu', { project: 4, identity: ['poster_mid'], hPer: 'modality' }, { labels, inputs }),
    /mixes kept \(identity\) and projected inputs/,
  );
});
