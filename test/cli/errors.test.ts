/**
 * Every CLI error path, as a user meets it: a real `mmgenre` process, its exit status, and no
 * stack trace (nor a line of minified library code) unless --debug asks for it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/shared.js';
import { MmgenreError, type ErrorKind } from '../../src/util/errors.js';
import { reportError } from '../../src/cli/errors.js';

interface Result {
  status: number | null;
  stderr: string;
}

/** Run the CLI (from source, like the other CLI tests) without blocking, so the cases run side by side. */
function cli(args: string[]): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (status) => resolvePromise({ status, stderr }));
  });
}

const STACK_LINE = /^\s+at .+:\d+:\d+\)?$/m;

function assertNoStack(r: Result, what: string): void {
  assert.doesNotMatch(r.stderr, STACK_LINE, `${what}: a stack trace was printed:\n${r.stderr}`);
  assert.ok(r.stderr.split('\n').length <= 4, `${what}: more than a short message:\n${r.stderr}`);
  assert.ok(
    r.stderr.split('\n').every((l) => l.length < 600),
    `${what}: a very long line:\n${r.stderr}`,
  );
}

test('each CLI error path exits with its status and prints a short message, no stack trace', async () => {
  const dir = tempDir();
  const notARun = join(dir, 'not-a-run');
  mkdirSync(notARun);
  const badSpec = join(dir, 'bad-spec');
  mkdirSync(badSpec);
  writeFileSync(join(badSpec, 'spec.json'), '{bad');
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, 'x');

  const cases: Array<{ args: string[]; status: number; message: RegExp }> = [
    { args: ['no-such-command'], status: 1, message: /unknown command/ },
    { args: ['info', '--no-such-option'], status: 1, message: /unknown option/ },
    { args: ['eval', '--predictions', aFile], status: 1, message: /required option '--data/ },
    { args: ['serve', '--model', notARun, '--port', 'abc'], status: 2, message: /--port must be/ },
    { args: ['data', 'stats', join(dir, 'missing')], status: 2, message: /no such file or directory/ },
    { args: ['data', 'fetch', 'imagenet'], status: 2, message: /unknown dataset "imagenet"/ },
    { args: ['data', 'synth', '--out', join(dir, 'synth'), '--n', '0'], status: 2, message: /at least 1/ },
    {
      args: ['train', '--config', 'no-such-config', '--data', dir, '--out', join(dir, 'run')],
      status: 2,
      message: /no config 'no-such-config'/,
    },
    { args: ['diagram', '--run', badSpec], status: 2, message: /not valid JSON/ },
    { args: ['report', notARun, '--out', join(dir, 'r.html')], status: 2, message: /not an mmgenre run/ },
    { args: ['compare', '--split', 'nope'], status: 2, message: /unknown split/ },
    // Not a user error (a bug or the system's): one line and how to see the stack.
    {
      args: ['data', 'synth', '--out', join(aFile, 'sub'), '--n', '3'],
      status: 1,
      message: /unexpected error: ENOTDIR[^\n]*\n\s+run with --debug for the stack/,
    },
  ];
  // Four at a time: each is a Node process compiling TypeScript.
  const results: Result[] = [];
  for (let i = 0; i < cases.length; i += 4) {
    results.push(...(await Promise.all(cases.slice(i, i + 4).map((c) => cli(c.args)))));
  }
  cases.forEach((c, k) => {
    const r = results[k];
    const what = `mmgenre ${c.args.join(' ')}`;
    assert.equal(r.status, c.status, `${what}: exit status\n${r.stderr}`);
    assert.match(r.stderr, c.message, what);
    assert.match(r.stderr, /^mmgenre: /, `${what}: the message starts with the program name`);
    assertNoStack(r, what);
  });
});

test('--debug prints the stack of an unexpected error', async () => {
  const aFile = join(tempDir(), 'a-file');
  writeFileSync(aFile, 'x');
  const r = await cli(['data', 'synth', '--out', join(aFile, 'sub'), '--n', '3', '--debug']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, STACK_LINE);
});

test('reportError: the exit status of each kind, the hint on its own line, a cut first line for the rest', () => {
  const lines: string[] = [];
  const write = (s: string): void => void lines.push(s);
  const kinds: Array<[ErrorKind, number]> = [
    ['input', 2],
    ['prerequisite', 3],
    ['not-found', 4],
    ['conflict', 5],
    ['interrupted', 130],
  ];
  for (const [kind, status] of kinds)
    assert.equal(reportError(new MmgenreError(kind, 'm', { hint: 'do this' }), false, write), status);
  assert.equal(lines.slice(0, 2).join(''), 'mmgenre: m\n  do this\n');
  lines.length = 0;
  // A minified library's message: one line, cut short.
  assert.equal(reportError(new TypeError(`x${'y'.repeat(5000)}\nsecond`), false, write), 1);
  assert.equal(lines.length, 1);
  assert.ok(lines[0].length < 400);
  assert.match(
    lines[0],
    /^mmgenre: unexpected error: TypeError: xy+…\n {2}run with --debug for the stack\n$/,
  );
});

test('every error class in src extends MmgenreError', () => {
  const offenders: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && /class \w+ extends Error\b/.test(readFileSync(p, 'utf8')))
        offenders.push(p);
    }
  };
  walk(join(ROOT, 'src'));
  assert.deepEqual(offenders, [join(ROOT, 'src', 'util', 'errors.ts')]);
});
