import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CliError } from '../errors.js';
import { defaultModelDir } from '../../predict/default-model.js';

interface ServeCliOptions {
  model?: string;
  runs?: string;
  port: string;
  host: string;
  log?: boolean;
  workers: string;
  requestTimeout?: number;
  maxConnections?: number;
  maxQueue?: number;
  deadline?: number;
  maxBatch?: number;
}

/** A positive integer flag; unset flags leave the server's own default (named in the help). */
function positiveInt(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`--${flag} must be a positive integer, got "${v}"`);
    return n;
  };
}

/** `mmgenre serve`: the web page and the HTTP API over a trained run. */
export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'web page and HTTP API: predict genres from a poster and a plot, browse runs and their test movies',
    )
    .option('--model <run>', 'run directory used for predictions; default: the model shipped with mmgenre')
    .option('--runs <dir>', 'folder of runs to list and browse as well')
    .option('--port <n>', 'port (0: any free port)', '8080')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--log', 'log every request (JSON lines on stdout)')
    .option(
      '--workers <n>',
      'server processes sharing the port, each with the model in memory (1: a single process)',
      String(availableParallelism()),
    )
    .option(
      '--request-timeout <ms>',
      'time a client has to send a whole request, headers and body; else 408 and disconnect (default: 30000)',
      positiveInt('request-timeout'),
    )
    .option(
      '--max-connections <n>',
      'open connections at most; more are closed at once (default: 1024)',
      positiveInt('max-connections'),
    )
    .option(
      '--max-queue <n>',
      'predictions waiting for a batch before new ones get 503 + Retry-After (default: 512)',
      positiveInt('max-queue'),
    )
    .option(
      '--deadline <ms>',
      'each prediction is answered, or refused with 503 + Retry-After, within this many ms (default: 1000)',
      positiveInt('deadline'),
    )
    .option(
      '--max-batch <n>',
      'largest batch of concurrent predictions (default: 32)',
      positiveInt('max-batch'),
    )
    .action(async (o: ServeCliOptions) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new CliError(`--port must be 0..65535, got "${o.port}"`);
      if (o.model !== undefined && !existsSync(o.model))
        throw new CliError(`run directory not found: ${o.model}`);
      let model = o.model;
      if (model === undefined) model = defaultModelDir();
      if (o.runs !== undefined && !existsSync(o.runs)) throw new CliError(`runs folder not found: ${o.runs}`);
      const workers = Number(o.workers);
      if (!Number.isInteger(workers) || workers < 1)
        throw new CliError(`--workers must be a whole number >= 1, got "${o.workers}"`);
      const { startServer } = await import('../../serve/server.js');
      const { startCluster } = await import('../../serve/cluster.js');
      let server;
      try {
        const serveOptions = {
          model,
          runsDir: o.runs,
          port,
          host: o.host,
          logger: o.log,
          requestTimeoutMs: o.requestTimeout,
          maxConnections: o.maxConnections,
          maxQueue: o.maxQueue,
          deadlineMs: o.deadline,
          maxBatch: o.maxBatch,
        };
        server = workers > 1 ? await startCluster(serveOptions, workers) : await startServer(serveOptions);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE')
          throw new CliError(`port ${port} on ${o.host} is in use: pick another with --port`);
        if (code === 'EACCES') throw new CliError(`not allowed to listen on ${o.host}:${port}`);
        throw err;
      }
      // The URL goes to stdout on its own line so scripts (and the bench) can read it.
      process.stdout.write(`mmgenre serve: listening on ${server.url}\n`);
      const stop = (): void => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
