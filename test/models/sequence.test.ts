import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { buildModel } from '../../src/models/build.js';
import '../../src/models/index.js';
import { prepareOps } from '../../src/models/ops.js';
import { specFor } from '../../src/models/registry.js';
import { FastRnn, type RnnPooling } from '../../src/models/sequence.js';
import type { InputSpec } from '../../src/models/spec.js';
import { SeededRandom } from '../../src/util/random.js';
import { loadGlove } from '../../src/text/glove.js';
import { wordRow } from '../../src/text/glove.js';
import { fit } from '../../src/train/trainer.js';
import type { SplitData, TrainingData } from '../../src/train/data.js';
import { trainingSchema } from '../../src/runs/config.js';

const LABELS = ['A', 'B', 'C'];

function seqInput(options: Record<string, unknown>, maxLen = 30): InputSpec {
  return {
    id: 'plot',
    modality: 'plot',
    source: { kind: 'sequence', encoder: 'plot-sequences', options: { maxLen, ...options } },
    shape: [maxLen],
    dtype: 'int32',
  };
}

/** Label j is on when token 10 + j occurs; other tokens are noise. Vocabulary ids 2..49. */
function sequenceTask(seed: number): TrainingData {
  const rng = new SeededRandom(seed);
  const split = (n: number, prefix: string): SplitData => {
    const seq: Int32Array[] = [];
    const y = new Uint8Array(n * LABELS.length);
    for (let i = 0; i < n; i++) {
      const len = 5 + Math.floor(rng.next() * 25);
      const s = Int32Array.from({ length: len }, () => 20 + Math.floor(rng.next() * 30));
      LABELS.forEach((_, j) => {
        if (rng.next() < 0.4) {
          s[Math.floor(rng.next() * len)] = 10 + j;
        }
      });
      LABELS.forEach((_, j) => (y[i * LABELS.length + j] = s.includes(10 + j) ? 1 : 0));
      seq.push(s);
    }
    return {
      ids: Array.from({ length: n }, (_, i) => `${prefix}${i}`),
      n,
      x: [new Float32Array(0)],
      y,
      missing: [new Uint8Array(n)],
      seq: [seq],
    };
  };
  return {
    labels: LABELS,
    dims: [30],
    train: split(400, 'tr'),
    dev: split(100, 'dv'),
    test: split(100, 'te'),
  };
}

for (const cell of ['gru', 'lstm'] as const) {
  test(`${cell}: a bidirectional ${cell.toUpperCase()} learns a token-presence task`, async () => {
    await initEngine();
    const spec = specFor(
      'rnn',
      { cell, units: 16, embeddingInit: 'random', trainEmbedding: true, embeddingDim: 16, dropout: 0 },
      { labels: LABELS, inputs: [seqInput({ maxWords: 48 })] },
    );
    const settings = trainingSchema.parse({ epochs: 12, batchSize: 16, lr: 0.01, patience: 0, seed: 3 });
    const r = await fit(spec, sequenceTask(7), { settings, progress: false });
    assert.ok(r.bestDevMacroF1 > 0.9, `dev macro-F1 ${r.bestDevMacroF1}`);
    r.built.model.dispose();
  });

  for (const pooling of ['last', 'max', 'mean', 'meanmax'] as const)
    test(`${cell}, ${pooling} pooling: padding is masked (extra padding leaves the output unchanged)`, async () => {
      await initEngine();
      const spec = specFor(
        'rnn',
        {
          cell,
          units: 8,
          embeddingInit: 'random',
          trainEmbedding: true,
          embeddingDim: 6,
          dropout: 0,
          pooling,
        },
        { labels: LABELS, inputs: [seqInput({ maxWords: 48 })] },
      );
      const { model } = buildModel(spec, { seed: 1 });
      const rows = [
        [5, 9, 12, 33],
        [7, 2, 0, 0],
        [40, 0, 0, 0],
      ];
      const padded = (T: number) =>
        tf.tensor2d(
          rows.map((r) => [...r, ...Array(T - r.length).fill(0)]),
          [rows.length, T],
          'int32',
        );
      const a = (model.predict(padded(4)) as tf.Tensor).arraySync() as number[][];
      const b = (model.predict(padded(11)) as tf.Tensor).arraySync() as number[][];
      for (let i = 0; i < rows.length; i++)
        for (let j = 0; j < LABELS.length; j++) assert.ok(Math.abs(a[i][j] - b[i][j]) < 1e-5);
      // ...and the content matters: another sequence gives another output.
      const c = (
        model.predict(tf.tensor2d([[6, 9, 12, 33]], [1, 4], 'int32')) as tf.Tensor
      ).arraySync() as number[][];
      assert.ok(Math.abs(c[0][0] - a[0][0]) > 1e-6);
      model.dispose();
    });
}

test('the GloVe-initialised embedding rows equal the word vectors', async () => {
  await initEngine();
  const words = ['the', 'wizard', 'murder', 'love', 'space'];
  const spec = specFor(
    'rnn',
    { cell: 'gru', units: 4, embeddingInit: 'glove', trainEmbedding: false },
    { labels: LABELS, inputs: [seqInput({ vocabulary: words })] },
  );
  await prepareOps(spec);
  const { model } = buildModel(spec, { seed: 1 });
  const emb = model.getLayer('embedding');
  assert.equal(emb.trainable, false);
  const m = emb.getWeights()[0].arraySync() as number[][];
  assert.equal(m.length, words.length + 2);
  const vectors = await loadGlove();
  assert.deepEqual(m[0], Array(100).fill(0), 'padding row is zero');
  words.forEach((w, i) => {
    const r = wordRow(vectors, w);
    const v = Array.from(vectors.matrix.subarray(r * 100, (r + 1) * 100));
    assert.deepEqual(m[i + 2], v, `row of '${w}'`);
  });
  model.dispose();
});

/** Reference pooling in plain loops over one direction's states [batch][time][units]. */
function poolByHand(
  states: number[][][],
  lengths: number[],
  pooling: RnnPooling,
  reverse: boolean,
): number[][] {
  return states.map((rows, b) => {
    const real = rows.slice(0, lengths[b]);
    const units = rows[0].length;
    const mean = Array.from({ length: units }, (_, u) => real.reduce((s, r) => s + r[u], 0) / real.length);
    const max = Array.from({ length: units }, (_, u) => Math.max(...real.map((r) => r[u])));
    const last = reverse ? rows[0] : rows[lengths[b] - 1];
    return pooling === 'last'
      ? last
      : pooling === 'mean'
        ? mean
        : pooling === 'max'
          ? max
          : [...mean, ...max];
  });
}

for (const cell of ['gru', 'lstm'] as const) {
  test(`${cell}: max, mean and mean+max pooling equal the pooled real states of each direction`, async () => {
    await initEngine();
    const units = 5;
    const ids = tf.tensor2d(
      [
        [4, 9, 3, 8, 2, 7],
        [5, 6, 0, 0, 0, 0],
        [3, 3, 3, 9, 0, 0],
      ],
      [3, 6],
      'int32',
    );
    const lengths = [6, 2, 4];
    const x = tf.randomNormal([3, 6, 4], 0, 1, 'float32', 11);
    // Pooled layers share weights with a 'last' layer built the same way (same seed, same names).
    const layer = (pooling: RnnPooling) => {
      const l = new FastRnn({ cell, units, bidirectional: true, pooling, name: `rnn_${pooling}` });
      l.apply([tf.zeros([1, 6, 4]), tf.ones([1, 6], 'int32')]);
      return l;
    };
    const ref = layer('last');
    const weights = ref.getWeights();
    // The states of each direction, from the engine directly (input order for both).
    const { gru } = await import('../../src/engine/gru.js');
    const { lstm } = await import('../../src/engine/lstm.js');
    const mask = tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D;
    const per = cell === 'gru' ? 4 : 3;
    const direction = (k: number) => {
      const [kernel, recurrentKernel, bias, recurrentBias] = weights.slice(k * per, (k + 1) * per);
      const w = { kernel, recurrentKernel, bias, recurrentBias } as never;
      const run = cell === 'gru' ? gru : lstm;
      return run(x as tf.Tensor3D, mask, w, { reverse: k === 1 }).sequence.arraySync();
    };
    const states = [direction(0), direction(1)];
    for (const pooling of ['last', 'max', 'mean', 'meanmax'] as const) {
      const l = layer(pooling);
      l.setWeights(weights);
      const got = (l.apply([x, ids]) as tf.Tensor).arraySync() as number[][];
      const want = poolByHand(states[0], lengths, pooling, false).map((f, b) => [
        ...f,
        ...poolByHand(states[1], lengths, pooling, true)[b],
      ]);
      assert.deepEqual(
        l.computeOutputShape([
          [null, 6, 4],
          [null, 6],
        ]),
        [null, want[0].length],
      );
      for (let b = 0; b < 3; b++)
        for (let u = 0; u < want[b].length; u++)
          assert.ok(
            Math.abs(got[b][u] - want[b][u]) < 1e-5,
            `${pooling} [${b}][${u}]: ${got[b][u]} vs ${want[b][u]}`,
          );
      assert.equal(l.getConfig().pooling, pooling);
    }
  });
}

test('rnn options: embedding dropout adds a node before the recurrence; a trained embedding takes its lr scale', () => {
  const spec = specFor(
    'rnn',
    {
      embeddingInit: 'random',
      trainEmbedding: true,
      embeddingLrScale: 0.1,
      embeddingDropout: 0.2,
      pooling: 'max',
    },
    { labels: LABELS, inputs: [seqInput({ maxWords: 48 })] },
  );
  const emb = spec.nodes.find((n) => n.id === 'embedding');
  assert.equal(emb?.lrScale, 0.1);
  assert.equal(emb?.frozen, false);
  const drop = spec.nodes.find((n) => n.id === 'embedding_dropout');
  assert.deepEqual(drop?.inputs, ['embedding']);
  assert.equal(drop?.params.rate, 0.2);
  const rnn = spec.nodes.find((n) => n.op === 'rnn');
  assert.deepEqual(rnn?.inputs, ['embedding_dropout', 'plot']);
  assert.equal(rnn?.params.pooling, 'max');
  // A frozen embedding has no lr scale, and no dropout means no extra node.
  const frozen = specFor(
    'rnn',
    { embeddingInit: 'random', embeddingLrScale: 0.1 },
    { labels: LABELS, inputs: [seqInput({ maxWords: 48 })] },
  );
  assert.equal(frozen.nodes.find((n) => n.id === 'embedding')?.lrScale, undefined);
  assert.equal(
    frozen.nodes.some((n) => n.id === 'embedding_dropout'),
    false,
  );
});
