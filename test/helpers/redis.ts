/**
 * A real redis-server for the queue tests: on 127.0.0.1, a free port, a temporary folder, a
 * password, no persistence. `redisMissing()` says why the tests skip when it is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
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
  /** redis://:PASSWORD@127.0.0.1:PORT/0 (rediss:// with TLS) */
  url: string;
  /** With TLS: the self-signed certificate clients must trust (NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  port: number;
  password: string;
  stop(): void;
}

/** Whether openssl can make the certificate a TLS server needs. */
export function opensslMissing(): string | false {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'openssl not found: the TLS test needs it for a certificate' : false;
}

export async function startRedis(opts: { tls?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const password = randomBytes(8).toString('hex');
  const dir = tempDir('mmgenre-redis-');
  let caFile: string | undefined;
  const tlsArgs: string[] = [];
  if (opts.tls) {
    caFile = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        caFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    tlsArgs.push(
      '--tls-port',
      String(port),
      '--tls-cert-file',
      caFile,
      '--tls-key-file',
      key,
      '--tls-auth-clients',
      'no',
    );
  }
  const child: ChildProcess = spawn(
    'redis-server',
    [
      ...tlsArgs,
      '--port',
      opts.tls ? '0' : String(port),
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
    url: `${opts.tls ? 'rediss' : 'redis'}://:${password}@127.0.0.1:${port}/0`,
    caFile,
    port,
    password,
    stop: () => void child.kill('SIGTERM'),
  };
}
