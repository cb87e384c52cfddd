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
    const models = readdirSync(join(env.cacheDir, 'models'));
    assert.equal(models.length, 1, 'exported once into the cache');
    assert.ok(models[0].endsWith('.onnx') && !models[0].includes('.tmp'));
    // A second encoder reuses the exported file.
    const again = visionEncoders.mobilenet_v2_onnx();
    await again.init();
    again.dispose();
    assert.deepEqual(readdirSync(join(env.cacheDir, 'models')), models);
    // Trunk output for fine-tuning, in Keras's NHWC order.
    await compare('block_15_add', [7, 7, 160]);
    assert.ok(existsSync(join(env.cacheDir, 'models')));
  } finally {
    env.cacheDir = saved;
  }
});
