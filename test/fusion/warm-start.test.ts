import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initEngine, tf, tfl } from '../../src/engine/index.js';
import { buildModel, type ModelSpec } from '../../src/models/index.js';
import { prepareWithSources, specWithSources } from '../../src/runs/source-layer.js';
import { gateBias } from '../../src/models/fusion/gmu.js';
import { loadRun, parseConfig, trainOnData } from '../../src/train/index.js';
import { Forward } from '../../src/predict/forward.js';
import { tempDir } from '../helpers/shared.js';
import { plotMlpSettings, posterPlotData, trainPlotRun } from './fixture.js';

const fx = posterPlotData([20, 10], 5);
const { dims: DIMS, data, inputs, labels } = fx;
const settings = plotMlpSettings('warm-start-test', 11);

/** The trained text-only MLP run, trained once for all the tests of this file. */
let plotRunDir: Promise<string> | null = null;
const plotRun = (): Promise<string> => (plotRunDir ??= trainPlotRun(fx, settings));

const N = 12;
/** Test rows of both inputs; movie 0 has no poster (an all-zero row). */
function rows(): { poster: Float32Array; plot: Float32Array } {
  const poster = data.test!.x[0].slice(0, N * DIMS[0]);
  poster.fill(0, 0, DIMS[0]);
  return { poster, plot: data.test!.x[1].slice(0, N * DIMS[1]) };
}

/** Probabilities (and gate weights when asked) of a freshly built, untrained model. */
async function untrained(spec: ModelSpec, layer?: string): Promise<Float32Array[]> {
  await initEngine();
  await prepareWithSources(spec);
  const { model } = buildModel(spec, { seed: 3 });
  const { poster, plot } = rows();
  const outputs = [model.outputs[0]];
  if (layer) outputs.push(model.getLayer(layer).output as InstanceType<typeof tfl.SymbolicTensor>);
  const sub = tfl.model({ inputs: model.inputs, outputs });
  const ys = sub.predict([tf.tensor2d(poster, [N, DIMS[0]]), tf.tensor2d(plot, [N, DIMS[1]])]);
  const list = Array.isArray(ys) ? ys : [ys];
  const out = list.map((y) => Float32Array.from(y.dataSync() as Float32Array));
  tf.dispose(list);
  model.dispose();
  return out;
}

async function textProbs(run: string): Promise<Float32Array> {
  const src = await loadRun(run);
  const y = src.model.predict(tf.tensor2d(rows().plot, [N, DIMS[1]])) as tf.Tensor;
  const p = Float32Array.from(y.dataSync() as Float32Array);
  y.dispose();
  src.model.dispose();
  return p;
}

const maxDiff = (a: Float32Array, b: Float32Array): number =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('gatePrior: the gate bias is the logit (two inputs) or log (more) of each share', () => {
  const [b2] = gateBias(['poster', 'plot'], { plot: 0.9 }).biasInit!;
  assert.ok(Math.abs(1 / (1 + Math.exp(-b2)) - 0.1) < 1e-12, 'σ(bias) is the poster share');
  const b3 = gateBias(['poster', 'plot', 'title'], { plot: 0.6 }).biasInit!;
  const e = b3.map(Math.exp);
  assert.deepEqual(
    e.map((v) => Number(v.toFixed(9))),
    [0.2, 0.6, 0.2],
  );
  assert.deepEqual(gateBias(['poster', 'plot'], {}), {});
  assert.throws(() => gateBias(['poster', 'plot'], { audio: 0.5 }), /no input 'audio'/);
  assert.throws(() => gateBias(['poster', 'plot'], { plot: 0.7, poster: 0.7 }), /sum to 1\.4/);
});

test('a GMU with a gate prior starts at that share for every movie; a per-modality gate is one value', async () => {
  for (const gateWidth of ['unit', 'modality'] as const) {
    const spec = specWithSources(
      'gmu',
      { project: 6, units: 5, dropout: 0, gatePrior: { plot: 0.8 }, gateWidth },
      { labels, inputs },
    );
    assert.equal(
      spec.nodes.find((n) => n.id === 'gmu_gate_logits')!.params.units,
      gateWidth === 'unit' ? 5 : 1,
    );
    const [, gate] = await untrained(spec, 'gmu_gate');
    assert.equal(gate.length, N * 2 * 5);
    for (let r = 0; r < N; r++)
      for (let u = 0; u < 5; u++) {
        const poster = gate[r * 10 + u];
        const plot = gate[r * 10 + 5 + u];
        // No poster for movie 0: the plot takes all; elsewhere the prior, 0.2 / 0.8.
        assert.ok(Math.abs(poster - (r === 0 ? 0 : 0.2)) < 1e-6, `row ${r} unit ${u}: poster ${poster}`);
        assert.ok(Math.abs(plot - (r === 0 ? 1 : 0.8)) < 1e-6);
      }
  }
});

test('warm start: a concatenation starts as the text model exactly; a GMU with the plot kept, too where the poster is absent', async () => {
  const source = await plotRun();
  const text = await textProbs(source);
  const branches = { plot: { from: { run: source } } };

  const concat = specWithSources(
    'concat',
    { project: 6, dropout: 0, warmStart: 'plot', branches },
    { labels, inputs },
  );
  assert.deepEqual(concat.nodes.find((n) => n.id === 'output')!.params.init, {
    run: source,
    runName: source,
    layer: 'output',
    offset: 6,
    rows: 8,
  });
  const [pc] = await untrained(concat);
  assert.ok(maxDiff(pc, text) < 1e-6, `concat vs text: ${maxDiff(pc, text)}`);

  const gmuOptions = { project: 6, dropout: 0, identity: ['plot'], warmStart: 'plot', branches };
  const gmu = specWithSources('gmu', { ...gmuOptions, gatePrior: { plot: 0.999 } }, { labels, inputs });
  const [pg] = await untrained(gmu);
  const L = labels.length;
  assert.ok(maxDiff(pg.subarray(0, L), text.subarray(0, L)) < 1e-6, 'no poster: the text model exactly');
  assert.ok(maxDiff(pg, text) < 0.01, `poster weighted 0.001: ${maxDiff(pg, text)}`);
  // An even gate mixes in the poster's random projection: no longer the text model.
  const even = specWithSources('gmu', gmuOptions, { labels, inputs });
  const [pe] = await untrained(even);
  assert.ok(maxDiff(pe, text) > 0.01);
});

test('a warm-started GMU trains, saves, and still gives the gate and exact per-genre parts', async () => {
  const source = await plotRun();
  const spec = specWithSources(
    'gmu',
    {
      project: 6,
      dropout: 0,
      identity: ['plot'],
      warmStart: 'plot',
      gatePrior: { plot: 0.9 },
      gateDropout: 0.2,
      gateLrScale: 0.5,
      branches: { plot: { from: { run: source } } },
    },
    { labels, inputs },
  );
  assert.equal(spec.nodes.find((n) => n.id === 'gmu_gate_logits')!.lrScale, 0.5);
  assert.ok(spec.nodes.some((n) => n.id === 'gmu_gate_dropout'));
  const out = join(tempDir(), 'gmu-warm');
  const cfg = parseConfig({ ...settings, name: 'gmu-warm', model: { type: 'gmu' } });
  const r = await trainOnData(cfg, spec, data, [{ kind: 'none' }, { kind: 'none' }], {
    out,
    progress: false,
  });
  assert.equal(r.status, 'done');
  const run = await loadRun(out);
  const { poster, plot } = rows();
  const fwd = new Forward(run.model, run.spec).run([poster, plot], N, DIMS);
  assert.ok(fwd.shares && fwd.genreParts, 'gate shares and per-genre parts');
  assert.equal(fwd.shares[0], 0, 'an absent poster has no share');
  assert.ok(fwd.shares[2] > 0 && fwd.shares[2] < 1);
  // Parts + bias = logit, for every movie and genre.
  const bias = run.model.getLayer('output_logits').getWeights()[1].dataSync();
  const L = labels.length;
  for (let i = 0; i < N; i++)
    for (let j = 0; j < L; j++) {
      const logit = fwd.genreParts[(i * 2 + 0) * L + j] + fwd.genreParts[(i * 2 + 1) * L + j] + bias[j];
      const p = 1 / (1 + Math.exp(-logit));
      assert.ok(Math.abs(p - fwd.probs[i * L + j]) < 1e-4, `movie ${i} genre ${j}`);
    }
  run.model.dispose();
});

test('warm start is checked: a GMU must keep the branch, the branch must come from a run, summation has none', async () => {
  const source = await plotRun();
  const branches = { plot: { from: { run: source } } };
  assert.throws(
    () => specWithSources('gmu', { project: 6, warmStart: 'plot', branches }, { labels, inputs }),
    /must also be in model.identity/,
  );
  assert.throws(
    () => specWithSources('concat', { project: 6, warmStart: 'poster', branches }, { labels, inputs }),
    /no branch taken from a run/,
  );
  assert.throws(
    () =>
      specWithSources('concat', { project: 6, warmStart: 'plot', hidden: [4], branches }, { labels, inputs }),
    /linear classifier/,
  );
  assert.throws(
    () => specWithSources('sum', { project: 8, warmStart: 'plot', branches }, { labels, inputs }),
    /summation/,
  );
});
