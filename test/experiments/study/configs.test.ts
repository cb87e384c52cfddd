import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../../src/engine/index.js';
import { buildModel, specFor, type InputSpec } from '../../../src/models/index.js';
import { inputModality } from '../../../src/runs/config.js';
import {
  GRID_FUSIONS,
  allCombinations,
  gridConfig,
  gridRunName,
  planGridJobs,
  selectCombinations,
} from '../../../src/experiments/study/index.js';

const LABELS = ['Comedy', 'Drama', 'Horror'];
const DIMS: Record<string, number> = { plot: 100, title: 100, companies: 7, poster: 1280 };

test('a config for four inputs: one input per feature through its encoder, fused by summation', async () => {
  await initEngine();
  const vocabulary = ['Warner Bros.', 'Pixar'];
  const c = gridConfig({
    combination: ['overview', 'title', 'companies', 'poster'],
    fusion: 'sum',
    seed: 7,
    encoderOptions: { companies: { vocabulary } },
  });
  assert.equal(c.name, 'grid-overview_title_companies_poster-sum-s7');
  assert.deepEqual(
    c.inputs.map((i) => [i.id, i.encoder, i.normalize, inputModality(i)]),
    [
      ['plot', 'glove-mean', 'zscore', 'plot'],
      ['title', 'title-glove-mean', 'zscore', 'title'],
      ['companies', 'companies-multihot', 'none', 'companies'],
      ['poster', 'mobilenet_v2', 'zscore', 'poster'],
    ],
  );
  assert.deepEqual(c.inputs[2].options, { vocabulary });
  assert.equal(c.model.type, 'sum');
  assert.equal(c.training.seed, 7);
  assert.equal(c.training.modalityDropout, 0.2);
  assert.equal(c.training.classWeights, 'balanced');

  // The spec really fuses all four: one projection per input, all added, then the classifier.
  const inputs: InputSpec[] = c.inputs.map((i) => ({
    id: i.id,
    modality: inputModality(i),
    source: { kind: 'features', encoder: i.encoder },
    shape: [DIMS[i.id]],
    dtype: 'float32',
  }));
  const { type, ...options } = c.model;
  const spec = specFor(type, options, { labels: LABELS, inputs });
  const fusion = spec.nodes.find((n) => n.id === 'fusion_sum')!;
  assert.equal(fusion.inputs.length, 4);
  assert.deepEqual(
    spec.nodes.filter((n) => n.id.endsWith('_project')).map((n) => n.id),
    ['plot_project', 'title_project', 'companies_project', 'poster_project'],
  );
  const { model } = buildModel(spec, { seed: 1 });
  const x = inputs.map((i) => tf.randomNormal([3, i.shape[0]]));
  const p = model.predict(x) as tf.Tensor;
  assert.deepEqual(p.shape, [3, LABELS.length]);
  tf.dispose([...x, p]);
  model.dispose();
});

test('the GMU over three inputs: one tanh unit per input, a softmax gate over the three per unit; MoE: one expert each', async () => {
  await initEngine();
  const combination = ['overview', 'title', 'poster'] as const;
  for (const fusion of ['gmu', 'moe'] as const) {
    const c = gridConfig({ combination: [...combination], fusion, seed: 2 });
    assert.equal(c.name, `grid-overview_title_poster-${fusion}-s2`);
    assert.equal(c.model.type, fusion);
    const inputs: InputSpec[] = c.inputs.map((i) => ({
      id: i.id,
      modality: inputModality(i),
      source: { kind: 'features', encoder: i.encoder },
      shape: [DIMS[i.id]],
      dtype: 'float32',
    }));
    const { type, ...options } = c.model;
    const spec = specFor(type, options, { labels: LABELS, inputs });
    const ids = spec.nodes.map((n) => n.id);
    if (fusion === 'gmu') {
      assert.deepEqual(
        ids.filter((id) => id.startsWith('gmu_h_')),
        ['gmu_h_plot', 'gmu_h_title', 'gmu_h_poster'],
      );
      const gate = spec.nodes.find((n) => n.id === 'gmu_gate')!;
      assert.equal(gate.params.modalities, 3);
      // Per unit, one gate logit per modality.
      assert.equal(spec.nodes.find((n) => n.id === 'gmu_gate_logits')!.params.units, 3 * 64);
    } else {
      assert.deepEqual(
        ids.filter((id) => /^expert_[a-z]+$/.test(id)),
        ['expert_plot', 'expert_title', 'expert_poster'],
      );
    }
    const { model } = buildModel(spec, { seed: 1 });
    const x = inputs.map((i) => tf.randomNormal([4, i.shape[0]]));
    const p = model.predict(x) as tf.Tensor;
    assert.deepEqual(p.shape, [4, LABELS.length]);
    const v = await p.data();
    assert.ok(
      v.every((q) => q >= 0 && q <= 1),
      `${fusion}: probabilities`,
    );
    tf.dispose([...x, p]);
    model.dispose();
  }
});

test('a single input is trained without fusion and without modality dropout', () => {
  const c = gridConfig({
    combination: ['poster'],
    fusion: null,
    seed: 1,
    encoders: { poster: 'mobilenet_v2_onnx' },
  });
  assert.equal(c.name, 'grid-poster-single-s1');
  assert.equal(c.inputs.length, 1);
  assert.equal(c.inputs[0].encoder, 'mobilenet_v2_onnx');
  assert.equal(c.training.modalityDropout, 0);
  assert.throws(
    () => gridConfig({ combination: ['overview', 'poster'], fusion: null, seed: 1 }),
    /need a fusion/,
  );
  // Every subset of the four features gives a valid config with every fusion.
  for (const combo of allCombinations(['overview', 'title', 'companies', 'poster'])) {
    for (const fusion of combo.length > 1 ? GRID_FUSIONS : [null]) {
      const cfg = gridConfig({
        combination: combo,
        fusion,
        seed: 3,
        encoderOptions: { companies: { vocabulary: ['A'] } },
      });
      assert.equal(cfg.inputs.length, combo.length);
    }
  }
});

test('jobs: each multi-input row per fusion, single rows once, every seed; drop restricts poster rows only', () => {
  const combinations = selectCombinations(['overview', 'title', 'companies', 'poster'], 'study');
  const posterIds = ['tt1', 'tt2'];
  const jobs = planGridJobs({
    combinations,
    fusions: ['concat', 'sum'],
    seeds: [1, 2, 3],
    out: '/tmp/grid-out',
    encoderOptions: { companies: { vocabulary: ['A'] } },
    posterIds,
  });
  assert.equal(jobs.length, (5 * 2 + 2) * 3);
  assert.equal(new Set(jobs.map((j) => j.name)).size, jobs.length);
  assert.ok(jobs.every((j) => j.dir.startsWith('/tmp/grid-out/runs/') && j.configPath.endsWith('.yaml')));
  for (const j of jobs) {
    assert.equal(j.onlyIds, j.combination.includes('poster') ? posterIds : undefined, j.name);
    assert.equal(j.fusion === null, j.combination.length === 1);
  }
  assert.equal(gridRunName(['overview'], null, 2), 'grid-overview-single-s2');
  assert.ok(jobs.find((j) => j.name === 'grid-overview-single-s2'));
});
