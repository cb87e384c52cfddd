import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { env } from '../../env.js';

interface ReportCliOptions {
  out: string;
  data?: string;
  bootstrap: string;
  examples: string;
  title?: string;
}

function count(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a whole number ≥ 0, not "${value}"`);
  return n;
}

/** `mmgenre report`: one self-contained HTML report of one or more runs. */
export function register(program: Command): void {
  program
    .command('report')
    .description('write one self-contained HTML report (works offline) of one or more training runs')
    .argument('<runs...>', 'run directories')
    .option('--out <file>', 'HTML file to write', 'report.html')
    .option('--data <dir>', "dataset for true labels, posters and plots (default: each run's own data path)")
    .option('--bootstrap <n>', 'bootstrap resamples for the F1 intervals (0: none)', '1000')
    .option('--examples <n>', 'right and wrong example movies per run', '6')
    .option('--title <text>', 'page title')
    .action(async (runs: string[], o: ReportCliOptions) => {
      const bootstrap = count(o.bootstrap, '--bootstrap');
      const examples = count(o.examples, '--examples');
      const t0 = performance.now();
      const { writeReport } = await import('../../report/report.js');
      const bytes = await writeReport(runs, o.out, {
        data: o.data,
        bootstrap,
        examples,
        title: o.title,
        onStage: (s) => {
          if (!env.quiet) process.stderr.write(`report: ${s}…\n`);
        },
      });
      const secs = (performance.now() - t0) / 1000;
      process.stdout.write(
        `wrote ${o.out} (${(bytes / 1024).toFixed(0)} KiB, ${runs.length} run(s), ${secs.toFixed(1)} s)\n`,
      );
    });
}
