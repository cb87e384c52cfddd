import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, tempDir } from '../helpers/shared.js';

/** A child process (the threaded build is chosen once per process) that reports what it ran on. */
function child(env: Record<string, string>): { threads: number; product: number[]; step: number[] } {
  const engine = pathToFileURL(join(ROOT, 'src', 'engine', 'index.ts')).href;
  const adam = pathToFileURL(join(ROOT, 'src', 'engine', 'fused-adam.ts')).href;
  const script = join(tempDir(), 'threads.mts');
  writeFileSync(
    script,
    `import { initEngine, engineInfo, tf } from '${engine}';
import { FusedAdam } from '${adam}';
await initEngine();
const vals = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s));
const x = tf.tensor(vals(64 * 300, 1), [64, 300]);
const w = tf.variable(tf.tensor(vals(300 * 130, 2), [300, 130]));
const product = Array.from(tf.matMul(x, w).dataSync().slice(0, 50));
const opt = new FusedAdam([w], { learningRate: 0.01 });
opt.applyGradients({ [w.name]: tf.tensor(vals(300 * 130, 3), [300, 130]) });
process.stdout.write(JSON.stringify({ threads: engineInfo().threads, product, step: Array.from(w.dataSync().slice(0, 50)) }));
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { threads: number; product: number[]; step: number[] };
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
});
