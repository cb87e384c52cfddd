import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from '../helpers/shared.js';

// The whole pipeline through the CLI on a tiny synthetic dataset (the README's first command).
test('mmgenre demo --quick runs end to end and prints the comparison table', { timeout: 600_000 }, () => {
  const out = join(tempDir('mmgenre-demo-'), 'demo');
  // With progress on (as a user sees it, in a log rather than a terminal).
  const r = runCli(['demo', '--quick', '--movies', '90', '--epochs', '2', '--out', out], {
    timeoutMs: 600_000,
    env: { MMGENRE_QUIET: '0' },
  });
  assert.equal(r.status, 0, `demo failed:\n${r.stderr.slice(-3000)}`);
  assert.match(r.stderr, /estimated time: about \d+ min/);
  for (let step = 1; step <= 5; step++)
    assert.equal(r.stderr.split(`[${step}/5]`).length - 1, 1, `step ${step} announced once`);
  // Progress while training: epochs with loss, dev macro-F1 and an ETA.
  assert.match(
    r.stderr,
    /training \(unimodal\): \d+\/\d+ epochs .*ETA .*epoch \d+\/2 loss \d\.\d+ dev macro-F1 \d\.\d+/,
  );
  assert.match(r.stderr, /features mobilenet_v2_onnx \(\d+ layers, one pass\)/);
  assert.ok(existsSync(join(out, 'report.html')), 'report.html written');
  assert.match(readFileSync(join(out, 'report.html'), 'utf8'), /<svg/);
  assert.match(r.stdout, /SYNTHETIC movies/);
  assert.match(r.stdout, /useless on real films/);
  assert.match(r.stdout, /compare --published/);
  assert.match(r.stdout, /Next:\n {2}mmgenre predict --model \S+fusion-gmu --poster \S+ --plot /);
  assert.match(r.stdout, /mmgenre serve --model /);
  assert.match(r.stdout, /mmgenre report /);
  // The table: ours, then only the paper's GMU row.
  const published = r.stdout.split('\n').filter((l) => /^P\??\s.*as published/.test(l));
  assert.equal(published.length, 1, published.join('\n'));
  assert.match(published[0], /GMU/);
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
