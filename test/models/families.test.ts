/**
 * One suite over every registered model family (as scikit-learn's test_common.py is over its
 * estimators): for each name in the registry, the spec validates, survives a JSON round trip,
 * builds, trains one epoch on a few rows, predicts probabilities (also for a row with a missing
 * input), and, where it trains on onnxruntime, computes tfjs' loss and gradients. A new family is
 * tested here without adding it to a list: the suite tries its input sets in turn and fails when
 * none builds. Shapes are tiny; the whole file runs in seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../../src/engine/index.js';
import {
  buildModel,
  getModelFamily,
  knownModels,
  prepareOps,
  specFor,
  validateSpec,
  type InputSpec,
  type ModelSpec,
} from '../../src/models/index.js';
import { finetuneTrunkLayer } from '../../src/models/finetune.js';
import { trainingSchema } from '../../src/runs/config.js';
import type { SplitData, TrainingData } from '../../src/train/data.js';
import { fit, predictSplit } from '../../src/train/trainer.js';
import { SeededRandom } from '../../src/util/random.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { compareOnnxGradients } from '../helpers/onnx-gradients.js';

const LABELS = ['Drama', 'Comedy', 'Action', 'Horror'];
const SIZES = { train: 24, dev: 8, test: 8 };

/** Smaller than the defaults where those are large or need downloads-free but slow weights. */
const SMALL_OPTIONS: Record<string, Record<string, unknown>> = {
  mlp: { hidden: [6] },
  maxout: { hidden: [6] },
  moe: { project: 6, expertHidden: [4] },
  concat: { project: 6 },
  sum: { project: 6 },
  gmu: { project: 6, units: 4 },
  rnn: { units: 4, embeddingInit: 'random', embeddingDim: 6, trainEmbedding: true },
  finetune: { units: 1 },
  late: { experts: { poster: 'poster-frozen', plot: 'text-mlp-meanglove' } },
};

/** Families that combine trained runs (no tfjs model of their own): trained and scored in test/fusion. */
const COMBINES_TRAINED_RUNS = new Set(['late']);

const dense = (id: 'poster' | 'plot', dim: number): InputSpec => ({
  id,
  modality: id,
  source: { kind: 'features', encoder: 'synthetic', normalize: 'none' },
  shape: [dim],
  dtype: 'float32',
});

interface InputSet {
  name: string;
  inputs: InputSpec[];
  data(): TrainingData;
}

/** Two dense modalities; the first training row lacks its poster. */
const posterPlot: InputSet = {
  name: 'poster + plot features',
  inputs: [dense('poster', 12), dense('plot', 7)],
  data() {
    const data = syntheticTrainingData({ dims: [12, 7], sizes: SIZES, labels: LABELS, seed: 3 });
    for (const split of [data.train, data.dev, data.test!]) {
      split.missing[0][0] = 1;
      split.x[0].fill(0, 0, 12);
    }
    return data;
  },
};

/** One token-sequence input (the recurrent models); the first row of each split has no plot. */
const plotSequence: InputSet = {
  name: 'plot token sequence',
  inputs: [
    {
      id: 'plot',
      modality: 'plot',
      source: { kind: 'sequence', encoder: 'plot-sequences', options: { maxLen: 10, maxWords: 30 } },
      shape: [10],
      dtype: 'int32',
    },
  ],
  data() {
    const rng = new SeededRandom(5);
    const split = (n: number, prefix: string): SplitData => {
      const seq = Array.from({ length: n }, (_, i) =>
        i === 0
          ? new Int32Array(0)
          : Int32Array.from({ length: 2 + (i % 8) }, () => 2 + Math.floor(rng.next() * 30)),
      );
      const missing = new Uint8Array(n);
      missing[0] = 1;
      const y = Uint8Array.from({ length: n * LABELS.length }, () => (rng.next() < 0.3 ? 1 : 0));
      return {
        ids: seq.map((_, i) => `${prefix}${i}`),
        n,
        x: [new Float32Array(0)],
        y,
        missing: [missing],
        seq: [seq],
      };
    };
    return {
      labels: LABELS,
      dims: [10],
      train: split(SIZES.train, 'tr'),
      dev: split(SIZES.dev, 'dv'),
      test: split(SIZES.test, 'te'),
    };
  },
};

/** A MobileNetV2 trunk output (what a fine-tuned poster model reads), for one top unit. */
function trunkOutput(): InputSet {
  const { layer, shape } = finetuneTrunkLayer(1);
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    name: `MobileNetV2 trunk output ${layer}`,
    inputs: [
      {
        id: 'poster',
        modality: 'poster',
        source: { kind: 'features', encoder: 'mobilenet_v2_onnx', options: { layer }, normalize: 'none' },
        shape: [size],
        dtype: 'float32',
      },
    ],
    data: () =>
      syntheticTrainingData({ dims: [size], sizes: { train: 8, dev: 4, test: 4 }, labels: LABELS, seed: 4 }),
  };
}

const INPUT_SETS: InputSet[] = [posterPlot, plotSequence, trunkOutput()];

/** The first input set the family builds a spec for, with that spec. */
function specOn(family: string): { set: InputSet; spec: ModelSpec } {
  const errors: string[] = [];
  for (const set of INPUT_SETS) {
    try {
      return {
        set,
        spec: specFor(family, SMALL_OPTIONS[family] ?? {}, { labels: LABELS, inputs: set.inputs }),
      };
    } catch (err) {
      errors.push(`${set.name}: ${(err as Error).message}`);
    }
  }
  assert.fail(
    `model family '${family}' builds on none of the suite's input sets; add one:\n${errors.join('\n')}`,
  );
}

function assertProbabilities(probs: Float32Array, n: number, what: string): void {
  assert.equal(probs.length, n * LABELS.length, `${what}: one row of ${LABELS.length} per movie`);
  for (const p of probs) assert.ok(p >= 0 && p <= 1, `${what}: probability ${p}`);
}

test('every registered model family: spec, JSON round trip, build, one epoch, predict, ONNX gradients', async (t) => {
  await initEngine({ backend: 'wasm' });
  const families = knownModels();
  assert.ok(families.length >= 11, `only ${families.length} families registered`);
  for (const family of families) {
    await t.test(family, async () => {
      assert.ok(getModelFamily(family).description.length > 0, 'a description for `mmgenre models`');
      const { set, spec } = specOn(family);
      validateSpec(spec);
      assert.equal(spec.family, family);
      assert.deepEqual(spec.labels, LABELS);
      const copy = JSON.parse(JSON.stringify(spec)) as ModelSpec;
      assert.deepEqual(copy, spec, 'the spec is plain JSON');

      if (COMBINES_TRAINED_RUNS.has(family)) {
        assert.throws(() => buildModel(copy, { seed: 1 }), /not built as one tfjs model/);
        return;
      }
      await prepareOps(copy);
      const data = set.data();
      // Built twice from the spec and from its JSON copy with one seed: the same model.
      const a = buildModel(spec, { seed: 1 });
      const b = buildModel(copy, { seed: 1 });
      const pa = predictSplit(a.model, data.test!, data.dims);
      assertProbabilities(pa, data.test!.n, 'untrained');
      assert.deepEqual(
        predictSplit(b.model, data.test!, data.dims),
        pa,
        'the JSON copy builds the same model',
      );
      a.model.dispose();
      b.model.dispose();

      const settings = trainingSchema.parse({ epochs: 1, batchSize: 8, patience: 0, seed: 2 });
      const r = await fit(spec, data, { settings, progress: false });
      assert.equal(r.history.length, 1);
      assert.ok(Number.isFinite(r.history[0].loss), `train loss ${r.history[0].loss}`);
      const probs = predictSplit(r.built.model, data.test!, data.dims);
      assertProbabilities(probs, data.test!.n, 'trained');
      assert.notDeepEqual(probs, pa, 'one epoch changed the model');
      r.built.model.dispose();
      if (r.engine === 'onnx') await compareOnnxGradients(spec, null);
      else t.diagnostic(`${family}: trains on tfjs (no ONNX lowering), so no gradient comparison`);
    });
  }
});
