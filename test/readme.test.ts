/**
 * The README cannot drift: every shell block a user can paste runs here, in a fresh folder, with
 * `npx mmgenre` as this checkout's CLI. A block that needs long training or a whole install says so
 * with `<!-- readme-test: skip (why) -->` on the line before it; the skips are listed so they stay few.
 * The TypeScript blocks run too, against this checkout's sources, on a small synthetic dataset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { ROOT, tempDir } from './helpers/shared.js';

interface Block {
  lang: string;
  code: string;
  skip: string | null;
  line: number;
}

function readmeBlocks(): Block[] {
  const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    let k = i - 1;
    while (k > 0 && lines[k].trim() === '') k--;
    const skip = /^<!-- readme-test: skip \((.+)\) -->$/.exec(lines[k] ?? '');
    out.push({
      lang: open[1],
      code: lines.slice(i + 1, end).join('\n'),
      skip: skip?.[1] ?? null,
      line: i + 1,
    });
    i = end;
  }
  return out;
}

test('README: every code block is runnable or says why it is skipped', () => {
  const blocks = readmeBlocks();
  assert.ok(blocks.length >= 5);
  for (const b of blocks) {
    assert.ok(['sh', 'bash', 'ts'].includes(b.lang), `README line ${b.line}: a \`\`\`${b.lang} block`);
  }
  // Kept minimal: only blocks that install, train or run the whole suite are skipped.
  assert.ok(blocks.filter((b) => b.skip).length <= 5, 'too many skipped README blocks');
});

test('README: the shell blocks run on small data', () => {
  const dir = tempDir('mmgenre-readme-');
  const runnable = readmeBlocks().filter((b) => !b.skip && b.lang !== 'ts');
  assert.ok(runnable.length >= 1);
  for (const b of runnable) {
    const script = `set -euo pipefail\nmmgenre() { node ${JSON.stringify(join(ROOT, 'bin', 'mmgenre.js'))} "$@"; }\n${b.code.replace(/\bnpx mmgenre\b/g, 'mmgenre')}`;
    const r = spawnSync('bash', ['-c', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' },
      timeout: 300_000,
    });
    assert.equal(r.status, 0, `README block at line ${b.line} failed:\n${r.stderr}\n${r.stdout}`);
  }
});

test('README: the library blocks run on small data', () => {
  const dir = tempDir('mmgenre-readme-ts-');
  const cli = join(ROOT, 'bin', 'mmgenre.js');
  const env = { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' };
  // The files the blocks name: a dataset at data/synth and a poster.jpg beside it.
  const synth = spawnSync(process.execPath, [cli, 'data', 'synth', '--out', 'data/synth', '--n', '80'], {
    cwd: dir,
    encoding: 'utf8',
    env,
  });
  assert.equal(synth.status, 0, synth.stderr);
  const poster = readdirSync(join(dir, 'data', 'synth', 'dataset')).find((f) => f.endsWith('.jpeg'));
  assert.ok(poster, 'the synthetic dataset has posters');
  copyFileSync(join(dir, 'data', 'synth', 'dataset', poster), join(dir, 'poster.jpg'));

  const blocks = readmeBlocks().filter((b) => !b.skip && b.lang === 'ts');
  assert.ok(blocks.length >= 1, 'the library snippet is tested');
  const entry = pathToFileURL(join(ROOT, 'src', 'index.ts')).href;
  for (const b of blocks) {
    const file = join(dir, `block-${b.line}.mts`);
    writeFileSync(file, b.code.replace(/from 'mmgenre'/g, `from ${JSON.stringify(entry)}`));
    const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx/esm'), file], {
      cwd: dir,
      encoding: 'utf8',
      env,
      timeout: 400_000,
    });
    assert.equal(r.status, 0, `README block at line ${b.line} failed:\n${r.stderr}\n${r.stdout}`);
  }
});
