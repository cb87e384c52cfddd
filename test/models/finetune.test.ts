import assert from 'node:assert/strict';
import { test } from 'node:test';
import { initEngine, tf, tfl } from '../../src/engine/index.js';
import { buildModel } from '../../src/models/build.js';
import '../../src/models/index.js';
import { finetuneTrunkLayer } from '../../src/models/finetune.js';
import { prepareOps } from '../../src/models/ops.js';
import { specFor } from '../../src/models/registry.js';
import type { InputSpec, ModelSpec } from '../../src/models/spec.js';
import { fit } from '../../src/train/trainer.js';
import { trainingSchema } from '../../src/runs/config.js';
import type { SplitData } from '../../src/train/data.js';
import { fileSystemModelHandler, nsfwjsModelDir } from '../../src/vision/model-files.js';

const LABELS = ['Drama', 'Comedy', 'Horror'];

function trunkInput(layer: string, size: number): InputSpec {
  return {
    id: 'poster',
    modality: 'poster',
    source: { kind: 'features', encoder: 'mobilenet_v2_onnx', options: { layer }, normalize: 'none' },
    shape: [size],
    dtype: 'float32',
  };
}

function finetuneSpec(units: number, extra: Record<string, unknown> = {}): ModelSpec {
  const { layer, shape } = finetuneTrunkLayer(units);
  return specFor(
    'finetune',
    { units, dropout: 0, ...extra },
    { labels: LABELS, inputs: [trunkInput(layer, shape[0] * shape[1] * shape[2])] },
  );
}

test('the rebuilt top blocks (BN folded) reproduce the pretrained MobileNetV2 features', async () => {
  await initEngine();
  const full = await tfl.loadLayersModel(fileSystemModelHandler(nsfwjsModelDir('mobilenet_v2')));
  for (const units of [1, 2, 3]) {
    const { layer } = finetuneTrunkLayer(units);
    const probe = tfl.model({
      inputs: full.inputs,
      outputs: [full.getLayer(layer).output, full.getLayer('flatten_1').output] as InstanceType<
        typeof tfl.SymbolicTensor
      >[],
    });
    const image = tf.randomUniform([2, 224, 224, 3], 0, 1, 'float32', 11);
    const [trunk, pooled] = probe.predict(image) as tf.Tensor[];
    const spec = finetuneSpec(units);
    await prepareOps(spec);
    const { model } = buildModel(spec, { seed: 1 });
    const top = tfl.model({ inputs: model.inputs, outputs: model.getLayer('pool').output as never });
    const ours = top.predict(tf.reshape(trunk, [2, -1])) as tf.Tensor;
    const ref = pooled.dataSync();
    const got = ours.dataSync();
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
      maxRef = Math.max(maxRef, Math.abs(ref[i]));
    }
    assert.equal(got.length, 2 * 1280);
    assert.ok(maxRef > 0.1, 'the reference features are not trivial');
    assert.ok(maxDiff < 1e-4 * Math.max(1, maxRef), `units=${units}: max difference ${maxDiff}`);
    tf.dispose([image, trunk, pooled, ours]);
    model.dispose();
  }
  full.dispose();
});

test('training updates only unfrozen layers, the pretrained ones at the lower learning rate', async () => {
  await initEngine();
  const spec = finetuneSpec(2, { trunkLrScale: 0.1 });
  // Freeze block_16 by hand: only Conv_1 (and the head) may move.
  spec.nodes.find((n) => n.id === 'block_16')!.frozen = true;
  await prepareOps(spec);
  const n = 24;
  const rows = (k: number): SplitData => {
    const x = Float32Array.from({ length: k * 7840 }, (_, i) => Math.abs(Math.sin(i * 0.37)) * 3);
    const y = Uint8Array.from({ length: k * 3 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    return {
      ids: Array.from({ length: k }, (_, i) => `m${i}`),
      n: k,
      x: [x],
      y,
      missing: [new Uint8Array(k)],
    };
  };
  const before = buildModel(spec, { seed: 5 }).model;
  const weightsOf = (m: typeof before, layer: string) =>
    m
      .getLayer(layer)
      .getWeights()
      .map((w) => w.dataSync());
  const settings = trainingSchema.parse({ epochs: 1, batchSize: 8, lr: 0.01, patience: 0, seed: 5 });
  const r = await fit(
    spec,
    { labels: LABELS, dims: [7840], train: rows(n), dev: rows(8) },
    { settings, progress: false },
  );
  const after = r.built.model;
  const maxChange = (layer: string): number => {
    const a = weightsOf(before, layer);
    const b = weightsOf(after, layer);
    let m = 0;
    a.forEach((w, k) => w.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[k][i])))));
    return m;
  };
  for (const frozen of ['block_16_expand', 'block_16_depthwise', 'block_16_project'])
    assert.equal(maxChange(frozen), 0, `${frozen} must not change`);
  const trunk = maxChange('conv_1');
  const head = maxChange('output_logits');
  assert.ok(trunk > 0, 'Conv_1 is trained');
  // Adam moves each weight by about lr per step: 3 steps at 0.001 vs 0.01.
  assert.ok(trunk < 0.0045 && head > 0.02, `Conv_1 moved ${trunk}, the head ${head}`);
  before.dispose();
  after.dispose();
});
