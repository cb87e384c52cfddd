import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { MovieRecord } from '../../src/data/types.js';
import type { Encoder } from '../../src/features/types.js';
import { visionEncoders } from '../../src/vision/index.js';
import { MMIMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';

const skip = skipUnless(MMIMDB_SAMPLE);
const dir = tempDir('mmgenre-vision-enc-');

function posters(n: number): MovieRecord[] {
  const d = join(MMIMDB_SAMPLE, 'dataset');
  return readdirSync(d)
    .filter((f) => f.endsWith('.jpeg'))
    .sort()
    .slice(0, n)
    .map((f) => ({ id: f.replace('.jpeg', ''), plot: null, genres: [], posterPath: join(d, f), meta: {} }));
}

function vec(r: Float32Array | { error: string }): Float32Array {
  if (!(r instanceof Float32Array)) throw new Error(`expected a vector, got error: ${r.error}`);
  return r;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let mobilenet: Encoder;
before(async () => {
  if (skip) return;
  mobilenet = visionEncoders.mobilenet_v2({ batchSize: 4 });
  await mobilenet.init();
});
after(() => mobilenet?.dispose());

test(
  'mobilenet_v2: 1280-d pooled features of real posters, finite, deterministic, distinct',
  { skip },
  async () => {
    assert.equal(mobilenet.dim, 1280);
    assert.deepEqual(mobilenet.rowShape, [1280]);
    assert.match(mobilenet.key, /^mobilenet_v2\|nsfwjs@[\d.]+\|out=flatten_1\|224x224\|fit=crop\|flip=0/);
    const recs = posters(6);
    const a = (await mobilenet.encode(recs)).map(vec);
    const b = (await mobilenet.encode(recs.slice(0, 3))).map(vec);
    for (const v of a) {
      assert.equal(v.length, 1280);
      assert.ok(v.every(Number.isFinite));
      assert.ok(
        v.every((x) => x >= 0 && x <= 6),
        'mean of ReLU6 activations lies in [0, 6]',
      );
      assert.ok(v.some((x) => x > 0));
    }
    for (let i = 0; i < 3; i++)
      assert.ok(maxAbsDiff(a[i], b[i]) < 1e-5, 'same poster, other batch → same vector');
    for (let i = 1; i < a.length; i++) assert.ok(maxAbsDiff(a[0], a[i]) > 1e-2, 'different posters differ');
  },
);

test(
  'mobilenet_v2: the pooled feature is the spatial mean of out_relu (truncation is right)',
  { skip },
  async () => {
    const trunk = visionEncoders.mobilenet_v2({ layer: 'out_relu' });
    try {
      await trunk.init();
      assert.deepEqual(trunk.rowShape, [7, 7, 1280]);
      assert.equal(trunk.dim, 7 * 7 * 1280);
      assert.notEqual(trunk.key, mobilenet.key);
      const recs = posters(2);
      const maps = (await trunk.encode(recs)).map(vec);
      const pooled = (await mobilenet.encode(recs)).map(vec);
      for (let k = 0; k < recs.length; k++) {
        const mean = new Float32Array(1280);
        for (let p = 0; p < 49; p++) for (let c = 0; c < 1280; c++) mean[c] += maps[k][p * 1280 + c] / 49;
        assert.ok(maxAbsDiff(mean, pooled[k]) < 1e-4);
      }
    } finally {
      trunk.dispose();
    }
  },
);

test('mobilenet_v2: the fine-tuning trunk output (block_15_add) is 7×7×160', { skip }, async () => {
  const trunk = visionEncoders.mobilenet_v2({ layer: 'block_15_add', flip: true });
  try {
    await trunk.init();
    assert.deepEqual(trunk.rowShape, [7, 7, 160]);
    const [v] = (await trunk.encode(posters(1))).map(vec);
    assert.equal(v.length, 7 * 7 * 160);
    assert.ok(v.every(Number.isFinite));
  } finally {
    trunk.dispose();
  }
  assert.throws(
    () => visionEncoders.mobilenet_v2({ flip: 'yes' }),
    /invalid options for encoder 'mobilenet_v2': flip/,
  );
  const bad = visionEncoders.mobilenet_v2({ layer: 'no_such_layer' });
  await assert.rejects(bad.init(), /has no layer 'no_such_layer'/);
});

test('mobilenet_v2: a flipped poster gives a different vector', { skip }, async () => {
  const flipped = visionEncoders.mobilenet_v2({ flip: true });
  try {
    const recs = posters(2);
    const f = (await flipped.encode(recs)).map(vec);
    const o = (await mobilenet.encode(recs)).map(vec);
    assert.ok(flipped.key.includes('flip=1'));
    for (let k = 0; k < 2; k++) assert.ok(maxAbsDiff(f[k], o[k]) > 1e-3);
  } finally {
    flipped.dispose();
  }
});

test('bad posters become per-record errors; the good ones still encode', { skip }, async () => {
  const truncated = join(dir, 'truncated.jpg');
  const jpeg = await sharp({ create: { width: 300, height: 450, channels: 3, background: '#884422' } })
    .jpeg()
    .toBuffer();
  writeFileSync(truncated, jpeg.subarray(0, 200));
  const [good] = posters(1);
  const recs: MovieRecord[] = [
    { ...good },
    { id: 'nopath', plot: null, genres: [], posterPath: null, meta: {} },
    { id: 'trunc', plot: null, genres: [], posterPath: truncated, meta: {} },
    { id: 'gone', plot: null, genres: [], posterPath: join(dir, 'gone.jpg'), meta: {} },
  ];
  const out = await mobilenet.encode(recs);
  assert.ok(out[0] instanceof Float32Array);
  assert.deepEqual(out[1], { error: 'no poster' });
  assert.match((out[2] as { error: string }).error, /corrupt or truncated/);
  assert.match((out[3] as { error: string }).error, /not found/);
});

test('no tensors leak across batches; dispose frees the weights', { skip }, async () => {
  const enc = visionEncoders.mobilenet_v2({ batchSize: 2 });
  const baseline = tf.memory().numTensors;
  await enc.init();
  const loaded = tf.memory().numTensors;
  assert.ok(loaded > baseline);
  await enc.encode(posters(3));
  await enc.encode(posters(5));
  assert.equal(tf.memory().numTensors, loaded, 'tensor count unchanged by encoding');
  enc.dispose();
  assert.equal(tf.memory().numTensors, baseline);
});

test('mobilenet_v2_mid (graph model) gives 1792-d and an internal node on request', { skip }, async () => {
  const mid = visionEncoders.mobilenet_v2_mid();
  const node = visionEncoders.mobilenet_v2_mid({ layer: 'MobilenetV2/expanded_conv_15/add' });
  try {
    const recs = posters(2);
    const v = (await mid.encode(recs)).map(vec);
    assert.equal(mid.dim, 1792);
    assert.equal(v[0].length, 1792);
    assert.ok(v[0].every(Number.isFinite) && maxAbsDiff(v[0], v[1]) > 1e-2);
    await node.init();
    assert.equal(node.rowShape.length, 3);
    assert.deepEqual(node.rowShape.slice(0, 2), [7, 7]);
  } finally {
    mid.dispose();
    node.dispose();
  }
});

test('inception_v3 gives 2048-d at 299 px', { skip }, async () => {
  const inc = visionEncoders.inception_v3({ batchSize: 1 });
  try {
    const [v] = (await inc.encode(posters(1))).map(vec);
    assert.equal(inc.dim, 2048);
    assert.match(inc.key, /299x299/);
    assert.equal(v.length, 2048);
    assert.ok(v.every(Number.isFinite) && v.some((x) => x > 0));
  } finally {
    inc.dispose();
  }
});

test('mobilenet_v2 knows its cache key and size before loading the weights', () => {
  const pooled = visionEncoders.mobilenet_v2();
  assert.ok(pooled.key.includes('out=flatten_1'), pooled.key);
  assert.equal(pooled.dim, 1280);
  const trunk = visionEncoders.mobilenet_v2({ layer: 'block_15_add' });
  assert.ok(trunk.key.includes('out=block_15_add'), trunk.key);
});
