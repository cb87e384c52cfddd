import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { specFor, type InputSpec } from '../../src/models/index.js';
import {
  balancedPosWeights,
  fit,
  loadRun,
  parseConfig,
  readCheckpoint,
  trainOnData,
  RunExistsError,
  type TrainConfig,
} from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { readPredictions } from '../../src/eval/predictions.js';
import { ROOT, tempDir } from '../helpers/shared.js';

const data = syntheticTrainingData({
  dims: [24, 8],
  sizes: { train: 300, dev: 80, test: 80 },
  noise: 2,
  seed: 5,
});
const inputs: InputSpec[] = [
  {
    id: 'poster',
    modality: 'poster',
    source: { kind: 'features', encoder: 'synthetic' },
    shape: [24],
    dtype: 'float32',
  },
  {
    id: 'plot',
    modality: 'plot',
    source: { kind: 'features', encoder: 'synthetic' },
    shape: [8],
    dtype: 'float32',
  },
];
const config = (training: Record<string, unknown>): TrainConfig =>
  parseConfig({
    name: 'synthetic-maxout',
    inputs: [
      { id: 'poster', encoder: 'synthetic' },
      { id: 'plot', encoder: 'synthetic' },
    ],
    model: { type: 'maxout', hidden: [32], dropout: 0.3 },
    training: { epochs: 6, patience: 0, classWeights: 'balanced', seed: 11, ...training },
  });
const spec = (c: TrainConfig) => {
  const { type, ...options } = c.model;
  return specFor(type, options, { labels: data.labels, inputs });
};

test('balanced positive weights are negatives / positives per genre', () => {
  const y = Uint8Array.from([1, 0, 1, 0, 0, 0, 0, 0]); // 4 rows × 2 labels: col0 has 2 positives, col1 none
  assert.deepEqual(Array.from(balancedPosWeights(y, 4, 2)), [1, 1]);
  const y2 = Uint8Array.from([1, 1, 0, 1, 0, 1, 0, 0]);
  assert.deepEqual(Array.from(balancedPosWeights(y2, 4, 2)), [3, Math.fround(1 / 3)]);
  assert.deepEqual(Array.from(balancedPosWeights(y2, 4, 2, 2)), [2, Math.fround(1 / 3)]);
});

test('the same seed gives identical metrics; the model learns; another seed differs', async () => {
  const c = config({});
  const a = await fit(spec(c), data, { settings: c.training, progress: false });
  const b = await fit(spec(c), data, { settings: c.training, progress: false });
  const strip = (h: typeof a.history) => h.map(({ trainSeconds: _t, seconds: _s, ...rest }) => rest);
  assert.deepEqual(strip(b.history), strip(a.history));
  assert.ok(a.history.at(-1)!.loss < a.history[0].loss, 'training loss falls');
  assert.ok(a.bestDevMacroF1 > 0.5, `dev macro-F1 ${a.bestDevMacroF1} shows the signal was learnt`);
  const other = await fit(spec(c), data, { settings: { ...c.training, seed: 12 }, progress: false });
  assert.notDeepEqual(strip(other.history), strip(a.history));
  for (const r of [a, b, other]) r.built.model.dispose();
});

test('early stopping stops after `patience` epochs without a better dev macro-F1', async () => {
  const c = config({ epochs: 60, patience: 2, lr: 0.02 });
  const r = await fit(spec(c), data, { settings: c.training, progress: false });
  assert.equal(r.stopReason, 'early-stopped');
  assert.equal(r.history.length, r.bestEpoch + 2);
  r.built.model.dispose();
});

test('a run directory holds the model, thresholds, predictions and eval; loadRun predicts the same', async () => {
  const out = join(tempDir(), 'run');
  const c = config({ epochs: 4 });
  const normalizers = data.dims.map(() => ({ kind: 'none' as const }));
  const r = await trainOnData(c, spec(c), data, normalizers, { out, progress: false });
  assert.equal(r.status, 'done');
  for (const f of [
    'config.yaml',
    'spec.json',
    'run.json',
    'preprocess.json',
    'metrics.jsonl',
    'checkpoint.bin',
    'model/model.json',
    'model/weights.bin',
    'thresholds.json',
    'predictions-dev.jsonl',
    'predictions-test.jsonl',
    'eval.json',
  ]) {
    assert.ok(existsSync(join(out, f)), `${f} exists`);
  }
  const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(metrics.length, 4);
  const evalJson = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
  assert.equal(evalJson.test.at05.n, data.test!.n);
  assert.equal(evalJson.test.at05.f1.macro, r.test!.at05.macro);
  const modelJson = JSON.parse(readFileSync(join(out, 'model/model.json'), 'utf8'));
  assert.equal(modelJson.format, 'layers-model');
  assert.deepEqual(modelJson.weightsManifest[0].paths, ['weights.bin']);

  const run = await loadRun(out);
  assert.deepEqual(run.labels, data.labels);
  assert.equal(run.thresholds.length, data.labels.length);
  assert.equal(run.spec.output, 'output');
  const probs = run.predict(data.test!.x);
  const saved = readPredictions(join(out, 'predictions-test.jsonl'), data.labels);
  assert.equal(saved.rows.length, data.test!.n);
  saved.rows.forEach((row, i) =>
    data.labels.forEach((l, j) =>
      assert.ok(Math.abs(row.scores[l] - probs[i * data.labels.length + j]) < 1e-5),
    ),
  );
  // Training again into the same directory without --resume is refused.
  await assert.rejects(trainOnData(c, spec(c), data, normalizers, { out, progress: false }), RunExistsError);
});

/** A child process that trains the synthetic task into `out` (so the test can SIGKILL it). */
function childScript(dir: string): string {
  const lib = pathToFileURL(join(ROOT, 'src', 'train', 'index.ts')).href;
  const models = pathToFileURL(join(ROOT, 'src', 'models', 'index.ts')).href;
  const synthetic = pathToFileURL(join(ROOT, 'test', 'helpers', 'synthetic-training.ts')).href;
  const file = join(dir, 'child.mts');
  writeFileSync(
    file,
    `import { parseConfig, trainOnData } from '${lib}';
import { syntheticTrainingData } from '${synthetic}';
import { specFor } from '${models}';
const [out, resume] = [process.argv[2], process.argv[3] === 'resume'];
const data = syntheticTrainingData({ dims: [256], sizes: { train: 1000, dev: 100, test: 100 }, noise: 2, seed: 9 });
const c = parseConfig({ name: 'kill', inputs: [{ id: 'poster', encoder: 'synthetic' }],
  model: { type: 'mlp', hidden: [128], dropout: 0.5 },
  training: { epochs: 12, patience: 0, seed: 4, classWeights: 'balanced', weightDecay: 0.001 } });
const { type, ...options } = c.model;
const spec = specFor(type, options, { labels: data.labels, inputs: [{ id: 'poster', modality: 'poster',
  source: { kind: 'features', encoder: 'synthetic' }, shape: [256], dtype: 'float32' }] });
const r = await trainOnData(c, spec, data, [{ kind: 'none' }], { out, resume, progress: false });
process.stdout.write(JSON.stringify({ status: r.status, resumedFrom: r.fit.resumedFrom }));
`,
  );
  return file;
}

function runChild(
  script: string,
  args: string[],
  killWhen?: () => boolean,
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ROOT,
      env: { ...process.env, MMGENRE_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    let timer: NodeJS.Timeout | undefined;
    if (killWhen) {
      timer = setInterval(() => {
        if (killWhen()) {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 5);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearInterval(timer);
      resolvePromise({ code, signal, stdout });
    });
  });
}

test(
  'resume after a real SIGKILL reaches the same final metrics as an uninterrupted run',
  { timeout: 240_000 },
  async () => {
    const dir = tempDir();
    const script = childScript(dir);
    const whole = join(dir, 'whole');
    const killed = join(dir, 'killed');
    const full = await runChild(script, [whole]);
    assert.equal(full.code, 0, full.stdout);
    const killedRun = await runChild(script, [killed], () => existsSync(join(killed, 'checkpoint.bin')));
    assert.equal(killedRun.signal, 'SIGKILL');
    const ckpt = readCheckpoint(join(killed, 'checkpoint.bin'))!;
    assert.ok(ckpt.state.epoch >= 1 && ckpt.state.epoch < 12, `killed after epoch ${ckpt.state.epoch} of 12`);
    assert.ok(!existsSync(join(killed, 'eval.json')), 'the killed run did not finish');
    const resumed = await runChild(script, [killed, 'resume']);
    assert.equal(resumed.code, 0);
    const info = JSON.parse(resumed.stdout) as { status: string; resumedFrom: number };
    assert.equal(info.status, 'done');
    assert.ok(info.resumedFrom >= 1, 'continued from the checkpoint, not from scratch');
    const strip = (path: string) =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const { trainSeconds: _t, seconds: _s, ...rest } = JSON.parse(l) as Record<string, unknown>;
          return rest;
        });
    assert.deepEqual(strip(join(killed, 'metrics.jsonl')), strip(join(whole, 'metrics.jsonl')));
    const evalOf = (d: string) => JSON.parse(readFileSync(join(d, 'eval.json'), 'utf8')).test;
    assert.deepEqual(evalOf(killed), evalOf(whole));
    assert.equal(
      readFileSync(join(killed, 'predictions-test.jsonl'), 'utf8'),
      readFileSync(join(whole, 'predictions-test.jsonl'), 'utf8'),
    );
  },
);
