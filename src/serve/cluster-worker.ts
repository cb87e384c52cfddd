/**
 * One worker process of `mmgenre serve --workers N` (see cluster.ts): waits for its options from
 * the primary, starts the whole server on the shared port, says so, and closes when told to or
 * when the primary goes away.
 */
import { MmgenreError } from '../util/errors.js';
import type { FromWorker, ToWorker } from './cluster.js';
import { startServer, type RunningServer } from './server.js';

let server: RunningServer | null = null;

function send(m: FromWorker, then?: () => void): void {
  process.send?.(m, undefined, {}, () => then?.());
}

async function start(options: Extract<ToWorker, { type: 'start' }>['options']): Promise<void> {
  try {
    server = await startServer(options);
    send({ type: 'listening', url: server.url, port: server.port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send(
      e instanceof MmgenreError
        ? { type: 'failed', message: e.message, kind: e.kind, hint: e.hint }
        : { type: 'failed', message: e.message ?? String(err), code: e.code },
      () => process.exit(1),
    );
  }
}

process.on('message', (m: ToWorker) => {
  if (m.type === 'start') void start(m.options);
  else if (m.type === 'stop') void (server?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});
send({ type: 'ready' });
// Ctrl-C reaches the whole process group: the primary stops the workers, in order.
process.on('SIGINT', () => {});
// The primary is gone (killed): no one hands out connections any more.
process.on('disconnect', () => process.exit(0));
