/**
 * A real redis-server for the queue tests: on 127.0.0.1, a free port, a temporary folder, a
 * password, no persistence. `redisMissing()` says why the tests skip when it is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tempDir } from './shared.js';

export function redisMissing(): string | false {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0
    ? 'redis-server not found: install it (apt-get install redis-server) to run the queue tests'
    : false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  /** redis://:PASSWORD@127.0.0.1:PORT/0 */
  url: string;
  port: number;
  password: string;
  stop(): void;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const password = randomBytes(8).toString('hex');
  const dir = tempDir('mmgenre-redis-');
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return {
    url: `redis://:${password}@127.0.0.1:${port}/0`,
    port,
    password,
    stop: () => void child.kill('SIGTERM'),
  };
}
