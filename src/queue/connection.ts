/**
 * The Redis behind the queue: a `redis://` or `rediss://` (TLS) URL, with an optional password
 * and database number, e.g. `rediss://:secret@redis.example:6380/2`. BullMQ and ioredis are
 * loaded here, lazily, so nothing of them is imported unless `--queue` is given.
 */
import type { Redis } from 'ioredis';
import { QueueError } from './errors.js';

export interface QueueTarget {
  url: string;
  /** The URL with its password masked, for messages and logs. */
  display: string;
  /** BullMQ queue name (one queue serves extraction and prediction jobs alike). */
  name: string;
}

export const DEFAULT_QUEUE_NAME = 'mmgenre';

export function parseQueueUrl(url: string, name = DEFAULT_QUEUE_NAME): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QueueError(
      `--queue: not a URL: '${url}'`,
      'give redis://HOST:PORT/DB or rediss://:PASSWORD@HOST:PORT/DB',
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new QueueError(
      `--queue: expected a redis:// or rediss:// URL, got '${u.protocol}//'`,
      'e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS)',
    );
  }
  if (!u.hostname) throw new QueueError(`--queue: the URL has no host: '${mask(u)}'`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) {
    throw new QueueError(`--queue: the database must be a number (/0, /1, ...), got '/${db}'`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(name))
    throw new QueueError(`queue name '${name}': use letters, digits, - and _`);
  return { url, display: mask(u), name };
}

function mask(u: URL): string {
  const m = new URL(u.href);
  if (m.password) m.password = '***';
  return m.href;
}

export type BullMQ = typeof import('bullmq');

/** BullMQ, imported on first use. */
export async function loadBullmq(): Promise<BullMQ> {
  return import('bullmq');
}

/**
 * A connected ioredis client (BullMQ needs `maxRetriesPerRequest: null` on the connections its
 * workers block on). Fails with a QueueError naming the URL (masked) when Redis cannot be reached
 * or refuses the password, instead of retrying forever.
 */
export async function connectRedis(target: QueueTarget, role: string): Promise<Redis> {
  const { Redis: IORedis } = await import('ioredis');
  const client = new IORedis(target.url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    connectionName: `mmgenre-${role}`,
    // Give up the first connection after a few tries; once connected, reconnect patiently.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastError = '';
  // Reported through connect() below; its own message is often only 'Connection is closed'.
  client.on('error', (err: Error) => (lastError = err.message));
  try {
    await withTimeout(client.connect(), 10_000, 'no answer in 10 s');
    await client.ping();
  } catch (err) {
    client.disconnect();
    const msg = lastError || (err instanceof Error ? err.message : String(err));
    throw new QueueError(
      `cannot reach the queue at ${target.display}: ${msg.replace(target.url, target.display)}`,
      /NOAUTH|WRONGPASS|invalid password/i.test(msg)
        ? 'check the password in the URL (redis://:PASSWORD@HOST:PORT/DB)'
        : /certificate/i.test(msg)
          ? "the server's TLS certificate is not trusted: for a private CA, set NODE_EXTRA_CA_CERTS to its certificate file"
          : 'start Redis there (redis-server), or check the host, port and whether it needs rediss:// (TLS)',
    );
  }
  return client;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

/** Redis key of a shard's result (kept out of BullMQ's own keys and its event stream). */
export function resultKey(target: QueueTarget, jobId: string): string {
  return `mmgenre:${target.name}:result:${jobId}`;
}

/** How long a finished shard's result waits in Redis for its coordinator. */
export const RESULT_TTL_SECONDS = 7 * 24 * 3600;
