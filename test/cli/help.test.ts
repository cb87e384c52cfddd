/** Help conventions: examples in every command's --help, required options marked, defaults unquoted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { loadCommands } from '../../src/cli/commands/index.js';
import { applyHelpConventions, commandPath, EXAMPLES, leafCommands } from '../../src/cli/help.js';
import { runCli } from '../helpers/shared.js';

async function program(): Promise<Command> {
  const p = new Command().name('mmgenre');
  for (const register of await loadCommands()) register(p);
  applyHelpConventions(p);
  return p;
}

test('every command has examples, marks its required options and shows defaults unquoted', async () => {
  const p = await program();
  const leaves = leafCommands(p);
  assert.ok(leaves.length >= 19, `only ${leaves.length} commands`);
  for (const cmd of leaves) {
    const path = commandPath(cmd);
    assert.ok(EXAMPLES[path]?.length, `no examples for '${path}'`);
    assert.ok(EXAMPLES[path][0].startsWith(`mmgenre ${path}`), `${path}: the first example runs it`);
    for (const o of cmd.options.filter((x) => x.mandatory)) assert.match(o.description, /\(required\)$/);
  }
  const serve = leaves.find((c) => commandPath(c) === 'serve')!;
  let help = '';
  serve.configureOutput({ writeOut: (s) => void (help += s) });
  serve.outputHelp();
  assert.match(help, /\(default: 8080\)/);
  assert.doesNotMatch(help, /\(default: "/);
  assert.match(help, /Examples:\n {2}\$ mmgenre serve --model/);
});

test('a missing required option gives a short error, not the whole help', () => {
  const r = runCli(['eval', '--predictions', 'p.jsonl']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 2, r.stderr);
  assert.match(r.stderr, /^mmgenre: required option '--data <dir>' not specified\n\(add --help/);
});

test('mmgenre configs and mmgenre encoders list one line each', () => {
  const c = runCli(['configs']);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /^fusion-gmu\s+\S.{10,}$/m);
  assert.match(c.stdout, /^poster-frozen\s+\S.{10,}$/m);
  const e = runCli(['encoders']);
  assert.equal(e.status, 0, e.stderr);
  assert.match(e.stdout, /^mobilenet_v2_onnx\s+poster\s+\S.+$/m);
  assert.match(e.stdout, /^glove-mean\s+plot\s+\S.+$/m);
});
