import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf, tfl } from '../../src/engine/index.js';
import {
  buildModel,
  describeNode,
  knownModels,
  specEdges,
  specFor,
  validateSpec,
  ModelOptionsError,
  type InputSpec,
  type ModelSpec,
} from '../../src/models/index.js';

const labels = ['Drama', 'Comedy', 'Horror'];
const input = (id: string, dim: number): InputSpec => ({
  id,
  modality: id === 'poster' ? 'poster' : 'plot',
  source: { kind: 'features', encoder: id === 'poster' ? 'mobilenet_v2' : 'glove-mean' },
  shape: [dim],
  dtype: 'float32',
});

test('the head families are registered', () => {
  for (const name of ['logistic', 'mlp', 'maxout']) assert.ok(knownModels().includes(name), name);
});

test('a two-input MLP spec is a JSON graph of named nodes whose edges reach the output', () => {
  const spec = specFor(
    'mlp',
    { hidden: [16, 8] },
    { labels, inputs: [input('poster', 12), input('plot', 5)] },
  );
  const roundTrip = JSON.parse(JSON.stringify(spec)) as ModelSpec;
  assert.deepEqual(roundTrip, spec);
  validateSpec(roundTrip);
  const ids = spec.nodes.map((n) => n.id);
  assert.deepEqual(ids, ['concat', 'hidden_1', 'dropout_1', 'hidden_2', 'dropout_2', 'output']);
  const edges = specEdges(spec);
  assert.deepEqual(
    edges.filter((e) => e.to === 'concat').map((e) => e.from),
    ['poster', 'plot'],
  );
  assert.equal(spec.output, 'output');
  assert.equal(describeNode(spec.nodes[1]), 'Dense 16 · relu');
  assert.match(spec.title, /mobilenet_v2 \+ glove-mean/);
});

test('bad model options name the key', () => {
  assert.throws(
    () => specFor('mlp', { hidden: [0] }, { labels, inputs: [input('plot', 5)] }),
    (e: Error) => e instanceof ModelOptionsError && /model\.hidden\.0/.test(e.message),
  );
  assert.throws(() => specFor('mlp', { hiden: [3] }, { labels, inputs: [input('plot', 5)] }), /hiden/);
  assert.throws(
    () => specFor('nope', {}, { labels, inputs: [input('plot', 5)] }),
    /unknown model type 'nope'.*maxout/,
  );
});

test('validateSpec rejects dangling edges and a wrong-sized output', () => {
  const spec = specFor('logistic', {}, { labels, inputs: [input('plot', 5)] });
  assert.throws(
    () => validateSpec({ ...spec, nodes: [{ ...spec.nodes[0], inputs: ['ghost'] }] }),
    /reads 'ghost'/,
  );
  assert.throws(() => validateSpec({ ...spec, labels: ['a', 'b'] }), /3 units for 2 labels/);
});

test('the same seed builds the same weights; another seed does not', async () => {
  await initEngine();
  const spec = specFor('maxout', { hidden: [8] }, { labels, inputs: [input('plot', 6)] });
  const weights = (seed: number): Float32Array[] => {
    const { model } = buildModel(spec, { seed });
    const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
    model.dispose();
    return w;
  };
  const a = weights(7);
  assert.deepEqual(weights(7), a);
  assert.notDeepEqual(weights(8), a);
});

test('maxout is the max over its pieces, and the output is the sigmoid of the logits', async () => {
  await initEngine();
  const spec = specFor(
    'maxout',
    { hidden: [4], pieces: 3, dropout: 0 },
    { labels, inputs: [input('plot', 5)] },
  );
  const { model, logitsModel } = buildModel(spec, { seed: 1 });
  const x = tf.randomNormal([2, 5], 0, 1, 'float32', 3);
  const linear = model.getLayer('maxout_1_linear');
  const [kernel, bias] = linear.getWeights();
  const pre = tf.add(tf.matMul(x, kernel), bias).arraySync() as number[][];
  const expected = pre.map((row) =>
    Array.from({ length: 4 }, (_, u) => Math.max(row[u], row[4 + u], row[8 + u])),
  );
  // Read the maxout activations through a sub-model sharing the layers.
  const probe = tfl.model({ inputs: model.inputs, outputs: model.getLayer('maxout_1').output as never });
  const got = (probe.predict(x) as tf.Tensor).arraySync() as number[][];
  got.forEach((row, i) => row.forEach((v, u) => assert.ok(Math.abs(v - expected[i][u]) < 1e-5)));
  const probs = (model.predict(x) as tf.Tensor).dataSync();
  const logits = (logitsModel.predict(x) as tf.Tensor).dataSync();
  probs.forEach((p, i) => assert.ok(Math.abs(p - 1 / (1 + Math.exp(-logits[i]))) < 1e-6));
  model.dispose();
});
