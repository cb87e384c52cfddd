import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from './helpers/shared.js';

test('mmgenre --help lists the commands', () => {
  const r = runCli(['--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: mmgenre/);
  assert.match(r.stdout, /info/);
});

test('an unknown command fails with a message', () => {
  const r = runCli(['no-such-command']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown command/);
});
