import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, sourceConfigsOf, sourceRunsOf, withSourceDirs } from '../../src/train/index.js';
import { runCli, tempDir } from '../helpers/shared.js';

test('a config names the runs it reads; they resolve inside the given folder, never through the environment', () => {
  const gmu = loadConfig('fusion-gmu');
  assert.deepEqual(sourceConfigsOf(gmu), ['text-mlp2-meanglove']);
  const late = loadConfig('fusion-late-average');
  assert.deepEqual(sourceConfigsOf(late).sort(), ['poster-frozen', 'text-mlp2-meanglove']);
  const resolved = withSourceDirs(gmu, '/tmp/somewhere');
  const from = (resolved.model as unknown as { branches: Record<string, { from?: { run: string } }> })
    .branches.plot.from;
  assert.equal(from?.run, '/tmp/somewhere/text-mlp2-meanglove');
  assert.equal(sourceRunsOf(gmu, '/x')[0].role, 'branches.plot.from.run');
  assert.equal(process.env.MMGENRE_RUNS_DIR, undefined);
});

test(
  'train --config fusion-gmu on an empty cache and runs folder trains its source run first and records it',
  { timeout: 300_000 },
  () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const synth = runCli(['data', 'synth', '--out', data, '--n', '48', '--seed', '5']);
    assert.equal(synth.status, 0, synth.stderr);
    const env = { MMGENRE_CACHE_DIR: join(dir, 'cache') };
    const out = join(dir, 'runs', 'fusion-gmu');
    const r = runCli(['train', '--config', 'fusion-gmu', '--data', data, '--out', out, '--epochs', '1'], {
      env,
      timeoutMs: 280_000,
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /fusion-gmu\s+done/);
    const source = join(dir, 'runs', 'text-mlp2-meanglove');
    assert.ok(existsSync(join(source, 'model', 'model.json')), 'the source run was trained beside --out');
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.deepEqual(info.sources, [
      { role: 'branches.plot.from.run', ref: 'text-mlp2-meanglove', dir: source, seed: 42, trained: true },
    ]);
    // config.yaml keeps the name; the run folder holds no machine path in its config.
    assert.match(readFileSync(join(out, 'config.yaml'), 'utf8'), /run: text-mlp2-meanglove/);

    // A second fusion with an explicit sources folder finds the finished source run.
    const again = runCli(
      [
        'train',
        '--config',
        'fusion-concat',
        '--data',
        data,
        '--out',
        join(dir, 'elsewhere', 'concat'),
        '--sources',
        join(dir, 'runs'),
        '--epochs',
        '1',
      ],
      { env, timeoutMs: 200_000 },
    );
    assert.equal(again.status, 0, again.stderr + again.stdout);
    const concat = JSON.parse(readFileSync(join(dir, 'elsewhere', 'concat', 'run.json'), 'utf8'));
    assert.equal(concat.sources[0].dir, source);
    assert.equal(concat.sources[0].trained, false);
    assert.ok(!existsSync(join(dir, 'elsewhere', 'text-mlp2-meanglove')));
  },
);
