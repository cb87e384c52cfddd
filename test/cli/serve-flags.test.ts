/** `mmgenre serve`'s limit flags reach the real server (a real process on 127.0.0.1). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT, runCli } from '../helpers/shared.js';

test('a bad limit value is a one-line error naming the flag', () => {
  const r = runCli(['serve', '--max-queue', 'lots', '--port', '0']);
  assert.equal(r.status, 2, 'the exit status of a user error');
  assert.match(r.stderr, /--max-queue must be a positive integer, got "lots"/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

/** Resolves with everything the server sends until it closes the connection (or `ms` pass). */
function readUntilClosed(
  socket: Socket,
  ms: number,
): Promise<{ text: string; closedAfterMs: number | null }> {
  const t0 = Date.now();
  let text = '';
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedAfterMs: null });
    }, ms);
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - t0 });
    });
  });
}

describe('mmgenre serve --request-timeout --max-connections', () => {
  let child: ChildProcess;
  let port = 0;
  before(async () => {
    child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'mmgenre.js'),
        'serve',
        '--port',
        '0',
        '--request-timeout',
        '1000',
        '--max-connections',
        '2',
      ],
      {
        env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start in 90 s: ${err}`)), 90_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
    });
  });
  after(() => {
    child?.kill('SIGTERM');
  });

  test('a body that never arrives gets 408 after the set timeout, not the 30 s default', async () => {
    const socket = connect(port, '127.0.0.1');
    socket.write(
      'POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100000\r\n\r\n{"plot": "a',
    );
    const { text, closedAfterMs } = await readUntilClosed(socket, 15_000);
    assert.ok(closedAfterMs !== null, 'the server closed the slow connection');
    assert.match(text, /^HTTP\/1\.1 408/);
    assert.ok(closedAfterMs >= 900 && closedAfterMs < 5_000, `closed after ${closedAfterMs} ms`);
  });

  test('connections over the cap are closed at once; those within it are served', async () => {
    const open = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    await Promise.all(open.map((s) => new Promise((r) => s.once('connect', r))));
    await new Promise((r) => setTimeout(r, 100)); // let the server accept both
    const third = connect(port, '127.0.0.1');
    const { closedAfterMs } = await readUntilClosed(third, 800);
    assert.ok(closedAfterMs !== null && closedAfterMs < 800, 'the third connection is refused at once');
    const first = open[0];
    first.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const answer = await readUntilClosed(first, 5_000);
    assert.match(answer.text, /^HTTP\/1\.1 200/);
    open[1].destroy();
  });
});
