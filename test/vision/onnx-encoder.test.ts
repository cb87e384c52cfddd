import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';
import type { MovieRecord } from '../../src/data/types.js';
import { encodeOnnxModel, type OnnxGraph } from '../../src/engine/onnx-proto.js';
import { visionEncoders } from '../../src/vision/index.js';
import { tempDir } from '../helpers/shared.js';

const dir = tempDir('mmgenre-vision-onnx-');

// Gemm weights: 3 channels → 2 outputs.
const B = Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1.5]); // [3, 2] row-major
const C = Float32Array.from([0.1, -0.2]);

/** GlobalAveragePool → Flatten → Gemm, NCHW input with a symbolic batch. */
function tinyModel(): OnnxGraph {
  return {
    name: 'gap-gemm',
    inputs: [{ name: 'pixels', shape: ['N', 3, 'H', 'W'] }],
    outputs: [{ name: 'logits', shape: ['N', 2] }],
    initializers: [
      { name: 'B', dims: [3, 2], data: B },
      { name: 'C', dims: [2], data: C },
    ],
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['gap'] },
      { op: 'Flatten', inputs: ['gap'], outputs: ['flat'], attrs: { axis: 1 } },
      {
        op: 'Gemm',
        inputs: ['flat', 'B', 'C'],
        outputs: ['logits'],
        attrs: { alpha: { float: 1 }, beta: { float: 1 } },
      },
    ],
  };
}

function gemm(means: number[]): number[] {
  return [0, 1].map((j) => C[j] + means.reduce((s, m, c) => s + m * B[c * 2 + j], 0));
}

test('the ONNX writer produces a model onnxruntime runs, matching a hand computation', async () => {
  const bytes = encodeOnnxModel(tinyModel());
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual(session.inputNames, ['pixels']);
  assert.deepEqual(session.outputNames, ['logits']);
  // Two images 3×2×2 with known values.
  const x = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => ((i * 7) % 11) / 10 - 0.3);
  const out = await session.run({ pixels: new ort.Tensor('float32', x, [2, 3, 2, 2]) });
  const y = out.logits.data as Float32Array;
  assert.deepEqual(out.logits.dims, [2, 2]);
  for (let n = 0; n < 2; n++) {
    const means = [0, 1, 2].map((c) => {
      const base = n * 12 + c * 4;
      return (x[base] + x[base + 1] + x[base + 2] + x[base + 3]) / 4;
    });
    const want = gemm(means);
    assert.ok(Math.abs(y[n * 2] - want[0]) < 1e-5 && Math.abs(y[n * 2 + 1] - want[1]) < 1e-5);
  }
  await session.release();
});

test('the onnx encoder preprocesses real image files as configured and runs the model', async () => {
  const modelPath = join(dir, 'gap-gemm.onnx');
  writeFileSync(modelPath, encodeOnnxModel(tinyModel()));
  const colours = [
    [200, 40, 10],
    [0, 128, 255],
  ];
  const recs: MovieRecord[] = [];
  for (const [i, [r, g, b]] of colours.entries()) {
    const path = join(dir, `solid${i}.png`);
    await sharp({ create: { width: 50, height: 80, channels: 3, background: { r, g, b } } })
      .png()
      .toFile(path);
    recs.push({ id: `m${i}`, plot: null, genres: [], posterPath: path, meta: {} });
  }
  recs.push({ id: 'none', plot: null, genres: [], posterPath: null, meta: {} });
  const mean: [number, number, number] = [0.5, 0.4, 0.3];
  const std: [number, number, number] = [0.2, 0.25, 0.5];
  for (const layout of ['NCHW', 'NHWC'] as const) {
    if (layout === 'NHWC') {
      // Same model behind a Transpose, so NHWC input is exercised for real.
      const g = tinyModel();
      g.inputs = [{ name: 'pixels', shape: ['N', 'H', 'W', 3] }];
      g.nodes.unshift({
        op: 'Transpose',
        inputs: ['pixels'],
        outputs: ['nchw'],
        attrs: { perm: [0, 3, 1, 2] },
      });
      g.nodes[1].inputs = ['nchw'];
      writeFileSync(modelPath, encodeOnnxModel(g));
    }
    const enc = visionEncoders.onnx({ modelPath, inputSize: 32, mean, std, layout });
    try {
      const out = await enc.encode(recs);
      assert.equal(enc.dim, 2);
      assert.deepEqual(enc.rowShape, [2]);
      assert.match(
        enc.key,
        new RegExp(`^onnx\\|sha256=[0-9a-f]{16}\\|in=pixels\\|out=logits\\|layout=${layout}`),
      );
      for (const [i, [r, g, b]] of colours.entries()) {
        const means = [r, g, b].map((v, c) => (v / 255 - mean[c]) / std[c]);
        const want = gemm(means);
        const got = out[i] as Float32Array;
        assert.ok(got instanceof Float32Array);
        assert.ok(
          Math.abs(got[0] - want[0]) < 1e-4 && Math.abs(got[1] - want[1]) < 1e-4,
          `${layout} ${got} vs ${want}`,
        );
      }
      assert.deepEqual(out[2], { error: 'no poster' });
    } finally {
      enc.dispose();
    }
  }
});

test('onnx encoder: clear errors for a missing model, a wrong output name and missing options', async () => {
  assert.throws(() => visionEncoders.onnx({}), /invalid options for encoder 'onnx': modelPath/);
  await assert.rejects(
    visionEncoders.onnx({ modelPath: join(dir, 'nope.onnx') }).init(),
    /ONNX model not found/,
  );
  const modelPath = join(dir, 'named.onnx');
  writeFileSync(modelPath, encodeOnnxModel(tinyModel()));
  await assert.rejects(
    visionEncoders.onnx({ modelPath, outputName: 'features' }).init(),
    /has no output 'features' \(it has: logits\)/,
  );
});
