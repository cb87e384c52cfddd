import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from './helpers/shared.js';

// The whole pipeline through the CLI on a tiny synthetic dataset (the README's first command).
test('mmgenre demo --quick runs end to end and prints the comparison table', { timeout: 600_000 }, () => {
  const out = join(tempDir('mmgenre-demo-'), 'demo');
  const r = runCli(['demo', '--quick', '--movies', '90', '--epochs', '2', '--out', out], {
    timeoutMs: 600_000,
  });
  assert.equal(r.status, 0, `demo failed:\n${r.stderr.slice(-3000)}`);
  for (const name of ['poster-frozen', 'poster-finetuned', 'text-gru', 'fusion-gmu', 'fusion-concat']) {
    assert.match(r.stdout, new RegExp(`${name}\\s+0\\.5\\s`), `${name} at 0.5 in the table`);
    assert.match(r.stdout, new RegExp(`${name}\\s+tuned \\(dev\\)`), `${name} tuned in the table`);
    assert.ok(existsSync(join(out, 'runs', name, 'model', 'model.json')), `${name} saved its model`);
  }
  assert.match(r.stdout, /Gated Multimodal|GMU/, 'published rows are listed');
  assert.match(r.stdout, /Poster fine-tuned − frozen .* paired bootstrap/);
  assert.match(readFileSync(join(out, 'data-check.txt'), 'utf8'), /90/);
  const demo = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as {
    synthetic: boolean;
    rows: Array<{ config: string; status: string; at05?: { macro: number } }>;
  };
  assert.equal(demo.synthetic, true);
  assert.ok(demo.rows.every((row) => row.status === 'done' && row.at05 !== undefined));

  // A second run reuses the finished runs instead of training again.
  const again = runCli(['demo', '--quick', '--movies', '90', '--epochs', '2', '--out', out], {
    timeoutMs: 300_000,
  });
  assert.equal(again.status, 0, again.stderr.slice(-2000));
  assert.match(again.stderr, /reusing poster-frozen, poster-finetuned, text-gru/);
  assert.match(again.stderr, /reusing fusion-gmu, fusion-concat/);
  assert.equal(again.stdout.split('\n')[1], r.stdout.split('\n')[1]);
});
