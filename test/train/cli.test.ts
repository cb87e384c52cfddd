import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MMIMDB_SAMPLE, runCli, skipUnless, tempDir } from '../helpers/shared.js';

test('train: an unknown config is a clear user error (exit 2) listing the shipped ones', () => {
  const r = runCli(['train', '--config', 'no-such', '--data', tempDir(), '--out', join(tempDir(), 'r')]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no config 'no-such'.*text-mlp-meanglove/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test(
  'train on the real sample: one run, then two seeds in parallel worker threads',
  { skip: skipUnless(MMIMDB_SAMPLE), timeout: 300_000 },
  () => {
    const dir = tempDir();
    const env = { MMGENRE_CACHE_DIR: join(dir, 'cache') };
    const out = join(dir, 'one');
    const r = runCli(
      ['train', '--config', 'text-mlp-meanglove', '--data', MMIMDB_SAMPLE, '--out', out, '--epochs', '3'],
      {
        env,
        timeoutMs: 240_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /text-mlp-meanglove\s+done/);
    const evalJson = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
    assert.equal(evalJson.test.at05.n, 504);
    assert.ok(evalJson.test.at05.f1.micro > 0.3, `micro-F1 ${evalJson.test.at05.f1.micro} after 3 epochs`);
    const info = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    assert.equal(info.status, 'done');
    assert.equal(info.features[0].encoder, 'glove-mean');
    assert.ok(info.features[0].cacheEntry, 'the feature-cache entry is recorded');

    const many = join(dir, 'many');
    const m = runCli(
      [
        'train',
        '--config',
        'text-mlp-meanglove',
        '--data',
        MMIMDB_SAMPLE,
        '--out',
        many,
        '--epochs',
        '2',
        '--seeds',
        '1,2',
        '--workers',
        '2',
      ],
      { env, timeoutMs: 240_000 },
    );
    assert.equal(m.status, 0, m.stderr);
    for (const s of [1, 2])
      assert.ok(existsSync(join(many, `text-mlp-meanglove-s${s}`, 'eval.json')), `seed ${s} finished`);
    const macro = (s: number) =>
      JSON.parse(readFileSync(join(many, `text-mlp-meanglove-s${s}`, 'metrics.jsonl'), 'utf8').split('\n')[0])
        .loss;
    assert.notEqual(macro(1), macro(2), 'different seeds train differently');
  },
);
