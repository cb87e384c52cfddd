import type { Command } from 'commander';
import { MmgenreError } from '../../util/errors.js';
import { CliError } from '../errors.js';

interface WorkerFlags {
  queue: string;
  allow?: string[];
  stallSeconds: number;
}

/** `mmgenre worker`: compute queued shards (feature extraction, batch prediction) until stopped. */
export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'take shards of `features extract --queue` and `predict --queue` from a Redis queue and compute them, ' +
        'loading each encoder or model once; run one per core, on every machine that sees the data at the same path',
    )
    .requiredOption('--queue <url>', 'Redis URL: redis://HOST:PORT/DB, rediss://:PASSWORD@HOST:PORT/DB (TLS)')
    .option(
      '--allow <dir>',
      'serve only jobs whose dataset and run folders lie in this folder (repeatable; default: any)',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option(
      '--stall-seconds <s>',
      'seconds without a heartbeat before a shard is given to another worker',
      (v: string) => {
        const n = Number(v);
        if (!(n >= 1)) throw new CliError(`--stall-seconds must be a number ≥ 1, got '${v}'`);
        return n;
      },
      30,
    )
    .addHelpText(
      'after',
      `
Examples:
  mmgenre worker --queue redis://10.0.0.5:6379/0
  mmgenre worker --queue rediss://:secret@redis.example:6380/0 --allow /mnt/catalogue --allow /mnt/runs
Stop with Ctrl-C or SIGTERM: the shard in hand is finished first.`,
    )
    .action(async (f: WorkerFlags) => {
      const { runQueueWorker } = await import('../../queue/worker.js');
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const r = await runQueueWorker({
          queue: f.queue,
          allow: f.allow,
          stallSeconds: f.stallSeconds,
          signal: controller.signal,
          log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
        });
        process.stdout.write(`worker stopped: ${r.shards} shard(s) done, ${r.failed} failed\n`);
      } catch (err) {
        throw asCliError(err);
      }
    });
}

/** A library error the user can act on, as the CLI prints it (message, then the hint). */
export function asCliError(err: unknown): unknown {
  if (err instanceof MmgenreError)
    return new CliError(err.hint ? `${err.message}\n${err.hint}` : err.message, err.exitCode);
  return err;
}
