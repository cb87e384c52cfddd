import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new CliError(`--${name} must be a positive integer (got "${value}")`);
  return n;
}

/** `mmgenre demo`: the whole pipeline end to end (synthetic data when no --data). */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the pipeline end to end: data check, features, poster models (frozen, fine-tuned), the synopsis GRU, fusions, evaluation and the comparison with the paper (synthetic data without --data)',
    )
    .option('--data <dir>', 'dataset directory (default: a synthetic dataset generated under --out)')
    .option('--out <dir>', 'output directory (runs, report, data check)', 'demo-output')
    .option('--quick', 'tiny synthetic dataset and 3 epochs per model (a smoke test, ~2 minutes)')
    .option('--epochs <n>', 'cap on epochs per model')
    .option('--movies <n>', 'synthetic movies to generate (default 600; 150 with --quick)')
    .option('--workers <n>', 'parallel trainings (default: every core)')
    .action(
      async (opts: {
        data?: string;
        out: string;
        quick?: boolean;
        epochs?: string;
        movies?: string;
        workers?: string;
      }) => {
        if (opts.data && !existsSync(opts.data))
          throw new CliError(`--data ${opts.data}: no such file or directory`);
        const { runDemo } = await import('../../experiments/demo.js');
        const controller = new AbortController();
        const onSigint = (): void => {
          process.stderr.write(
            '\nstopping after the current epochs (checkpoints are kept; run the demo again to resume)\n',
          );
          controller.abort();
        };
        process.once('SIGINT', onSigint);
        try {
          const r = await runDemo({
            data: opts.data,
            out: opts.out,
            quick: opts.quick,
            epochs: positive('epochs', opts.epochs),
            synthMovies: positive('movies', opts.movies),
            workers: positive('workers', opts.workers),
            signal: controller.signal,
          });
          const took = `${Math.floor(r.seconds / 60)} min ${Math.round(r.seconds % 60)} s`;
          process.stdout.write(
            `${r.report}\n\neverything is in ${r.out} (${r.reportHtml ? 'report.html, ' : ''}report.txt, demo.json, runs/, data-check.txt) · took ${took}\n` +
              `\nNext:\n${r.nextSteps.map((c) => `  ${c}`).join('\n')}\n`,
          );
          if (r.rows.some((row) => row.status === 'failed')) process.exitCode = 1;
        } finally {
          process.off('SIGINT', onSigint);
        }
      },
    );
}
