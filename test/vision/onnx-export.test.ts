import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MovieRecord } from '../../src/data/types.js';
import { env } from '../../src/env.js';
import { visionEncoders } from '../../src/vision/index.js';
import { MMIMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';

const skip = skipUnless(MMIMDB_SAMPLE);

function posters(n: number): MovieRecord[] {
  const d = join(MMIMDB_SAMPLE, 'dataset');
  return readdirSync(d)
    .filter((f) => f.endsWith('.jpeg'))
    .sort()
    .slice(10, 10 + n)
    .map((f) => ({ id: f, plot: null, genres: [], posterPath: join(d, f), meta: {} }));
}

async function compare(layer: string | undefined, rowShape: number[]): Promise<void> {
  const tfjs = visionEncoders.mobilenet_v2({ layer });
  const onnx = visionEncoders.mobilenet_v2_onnx({ layer });
  try {
    const recs = posters(3);
    const a = await tfjs.encode(recs);
    const b = await onnx.encode(recs);
    assert.deepEqual(onnx.rowShape, rowShape);
    assert.equal(onnx.dim, tfjs.dim);
    assert.match(onnx.key, /^mobilenet_v2_onnx\|sha256=/);
    for (let k = 0; k < recs.length; k++) {
      const x = a[k] as Float32Array;
      const y = b[k] as Float32Array;
      let diff = 0;
      let scale = 0;
      for (let i = 0; i < x.length; i++) {
        diff = Math.max(diff, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(x[i]));
      }
      assert.ok(scale > 0.1, 'non-trivial activations');
      assert.ok(diff < 1e-4 * Math.max(1, scale), `onnx vs tfjs max diff ${diff} (scale ${scale})`);
    }
  } finally {
    tfjs.dispose();
    onnx.dispose();
  }
}

test('mobilenet_v2_onnx: the exported ONNX model reproduces the tfjs features', { skip }, async () => {
  const saved = env.cacheDir;
  env.cacheDir = tempDir('mmgenre-onnx-export-');
  try {
    await compare(undefined, [1280]);
    // The exported model and its checksum file.
    const models = readdirSync(join(env.cacheDir, 'models')).filter((f) => !f.endsWith('.sha256'));
    assert.equal(models.length, 1, 'exported once into the cache');
    assert.ok(models[0].endsWith('.onnx') && !models[0].includes('.tmp'));
    // A second encoder reuses the exported file.
    const again = visionEncoders.mobilenet_v2_onnx();
    await again.init();
    again.dispose();
    assert.deepEqual(
      readdirSync(join(env.cacheDir, 'models')).filter((f) => !f.endsWith('.sha256')),
      models,
    );
    // Trunk output for fine-tuning, in Keras's NHWC order.
    await compare('block_15_add', [7, 7, 160]);
    assert.ok(existsSync(join(env.cacheDir, 'models')));
  } finally {
    env.cacheDir = saved;
  }
});

// InceptionV3's layer types beyond MobileNetV2's: channel concatenation and batch normalisation
// without a learned scale (Keras scale=False). A small random model with both, exported and run
// by onnxruntime, must give tfjs's activations (the full InceptionV3 agrees to 6e-7, measured).
test('layersModelToOnnx: Concatenate and BatchNormalization(scale=false) match tfjs', async () => {
  const { tf, tfl } = await import('../../src/engine/index.js');
  const { layersModelToOnnx, encodeOnnxModel } = await import('../../src/vision/index.js');
  const ort = await import('onnxruntime-node');
  const input = tfl.input({ shape: [9, 9, 3], name: 'img' });
  const conv = (filters: number, k: number, name: string) =>
    tfl.layers.conv2d({ filters, kernelSize: k, padding: 'same', useBias: false, name });
  const bn = (name: string) =>
    tfl.layers.batchNormalization({
      axis: 3,
      scale: false,
      name,
      betaInitializer: 'randomNormal',
      movingMeanInitializer: 'randomNormal',
      movingVarianceInitializer: 'ones',
    });
  const a = tfl.layers
    .activation({ activation: 'relu' })
    .apply(bn('bn_a').apply(conv(4, 1, 'a').apply(input)));
  const b = tfl.layers
    .activation({ activation: 'relu' })
    .apply(bn('bn_b').apply(conv(5, 3, 'b').apply(input)));
  const pool = tfl.layers
    .averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'pool' })
    .apply(input);
  const mixed = tfl.layers.concatenate({ axis: 3, name: 'mixed' }).apply([a, b, pool] as never);
  const model = tfl.model({ inputs: input, outputs: mixed as never });
  const x = tf.randomUniform([2, 9, 9, 3], 0, 1, 'float32', 7);
  const want = (model.predict(x) as InstanceType<typeof tf.Tensor>).dataSync() as Float32Array;
  const bytes = encodeOnnxModel(layersModelToOnnx(model, 'mixed'), 'test');
  const session = await ort.InferenceSession.create(bytes);
  const feeds = { input: new ort.Tensor('float32', x.dataSync() as Float32Array, [2, 9, 9, 3]) };
  const got = (await session.run(feeds)).features;
  assert.deepEqual(got.dims, [2, 9, 9, 12]);
  const values = got.data as Float32Array;
  let diff = 0;
  for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i] - values[i]));
  assert.ok(diff < 1e-5, `onnx vs tfjs max diff ${diff}`);
  await session.release();
  model.dispose();
  x.dispose();
});

test(
  "mobilenet_v2_onnx pool 'mean': the spatial mean of an intermediate layer, cached under its own key",
  { skip },
  async () => {
    const map = visionEncoders.mobilenet_v2_onnx({ layer: 'block_15_add' });
    const pooled = visionEncoders.mobilenet_v2_onnx({ layer: 'block_15_add', pool: 'mean' });
    try {
      const recs = posters(2);
      const maps = await map.encode(recs);
      const means = await pooled.encode(recs);
      assert.deepEqual(pooled.rowShape, [160]);
      assert.equal(pooled.dim, 160);
      assert.match(pooled.key, /\|pool=mean$/);
      assert.doesNotMatch(map.key, /pool/, 'unpooled keys (and cache entries) unchanged');
      for (let k = 0; k < recs.length; k++) {
        const m = maps[k] as Float32Array; // 7×7×160, channels last
        const got = means[k] as Float32Array;
        assert.equal(got.length, 160);
        for (const c of [0, 17, 159]) {
          let sum = 0;
          for (let p = 0; p < 49; p++) sum += m[p * 160 + c];
          assert.ok(Math.abs(got[c] - sum / 49) < 1e-5, `channel ${c}: ${got[c]} vs ${sum / 49}`);
        }
      }
    } finally {
      map.dispose();
      pooled.dispose();
    }
    // The pooled output is already a vector: nothing to pool.
    const flat = visionEncoders.mobilenet_v2_onnx({ pool: 'mean' });
    await assert.rejects(flat.encode(posters(1)), /pool 'mean' needs a feature map/);
    flat.dispose();
  },
);
