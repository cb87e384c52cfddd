import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tempDir } from '../helpers/shared.js';

/** A child process (the threaded build is chosen once per process) that reports what it ran on. */
interface ChildReport {
  threads: number;
  product: number[];
  step: number[];
  onnx: { loss: number; grad: number[] };
}

function child(env: Record<string, string>): ChildReport {
  const engine = pathToFileURL(join(ROOT, 'src', 'engine', 'index.ts')).href;
  const adam = pathToFileURL(join(ROOT, 'src', 'engine', 'fused-adam.ts')).href;
  const models = pathToFileURL(join(ROOT, 'src', 'models', 'index.ts')).href;
  const onnxStep = pathToFileURL(join(ROOT, 'src', 'train', 'onnx-step.ts')).href;
  const script = join(tempDir(), 'threads.mts');
  writeFileSync(
    script,
    `import { initEngine, engineInfo, tf } from '${engine}';
import { FusedAdam } from '${adam}';
import { buildModel, specFor } from '${models}';
import { OnnxTrainingStep } from '${onnxStep}';
await initEngine();
const vals = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
const x = tf.tensor(vals(64 * 300, 1), [64, 300]);
const w = tf.variable(tf.tensor(vals(300 * 130, 2), [300, 130]));
const product = Array.from(tf.matMul(x, w).dataSync().slice(0, 50));
const opt = new FusedAdam([w], { learningRate: 0.01 });
opt.applyGradients({ [w.name]: tf.tensor(vals(300 * 130, 3), [300, 130]) });
// The onnxruntime gradient step reads weights from, and writes gradients to, the (shared) heap.
const input = { id: 'x', modality: 'plot', source: { kind: 'features', encoder: 'e' }, shape: [30], dtype: 'float32' } as const;
const spec = specFor('mlp', { hidden: [16], dropout: 0 }, { labels: ['a', 'b', 'c'], inputs: [input] });
const { logitsModel } = buildModel(spec, { seed: 4 });
const vars = logitsModel.trainableWeights.map((v) => v.read() as tf.Variable);
const onnxStep = await OnnxTrainingStep.compile(spec, logitsModel, vars, { posWeight: null, threads: 1 });
onnxStep.useTrainingLayout([]);
const loss = await onnxStep.run([vals(8 * 30, 4)], Float32Array.from({ length: 24 }, (_, i) => i % 2), 8, []);
const grad = Array.from(onnxStep.grads[vars[0].name].dataSync().slice(0, 50));
process.stdout.write(JSON.stringify({ threads: engineInfo().threads, product, step: Array.from(w.dataSync().slice(0, 50)), onnx: { loss, grad } }));
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ChildReport;
}

test('MMGENRE_WASM_THREADS=2 starts the threaded wasm build in Node; results equal the single-threaded build', () => {
  const single = child({ MMGENRE_WASM_THREADS: '' });
  const threaded = child({ MMGENRE_WASM_THREADS: '2' });
  assert.equal(single.threads, 1);
  assert.equal(threaded.threads, 2);
  single.product.forEach((v, i) =>
    assert.ok(Math.abs(threaded.product[i] - v) <= 1e-4 * Math.max(1, Math.abs(v))),
  );
  assert.deepEqual(threaded.step, single.step, 'the SIMD Adam step on the shared heap');
  assert.equal(threaded.onnx.loss, single.onnx.loss, 'the onnx step on the shared heap (staged copies)');
  assert.deepEqual(threaded.onnx.grad, single.onnx.grad);
  assert.ok(single.onnx.grad.some((g) => g !== 0));
});
