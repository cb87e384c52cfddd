import type { Command } from 'commander';
import { CliError } from '../errors.js';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got '${v}'`);
  return n;
};

interface RunAllFlags {
  data: string;
  out: string;
  configs?: string;
  workers?: number;
  seeds?: number;
  epochs?: number;
  json?: boolean;
}

/** `mmgenre run-all`: unimodal + multimodal set in parallel, one comparison table. */
export function register(program: Command): void {
  program
    .command('run-all')
    .description(
      'train the unimodal and multimodal models (parallel workers) and print one comparison table, with each modality removed for the fusions',
    )
    .requiredOption('--data <dir>', 'dataset directory')
    .requiredOption('--out <dir>', 'folder for the runs, summary.json and summary.md')
    .option('--configs <list>', 'comma-separated config names or files (default: unimodal + fusion configs)')
    .option('--workers <n>', 'parallel trainings (default: every core)', positiveInt('workers'))
    .option('--seeds <n>', 'seeds per config', positiveInt('seeds'))
    .option('--epochs <n>', 'cap every config at this many epochs (quick runs)', positiveInt('epochs'))
    .option('--json', 'print summary.json instead of the tables')
    .action(async (flags: RunAllFlags) => {
      const { formatRunAll, runAll } = await import('../../experiments/run-all.js');
      {
        const summary = await runAll({
          data: flags.data,
          out: flags.out,
          configs: flags.configs
            ?.split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          workers: flags.workers,
          seeds: flags.seeds,
          epochs: flags.epochs,
          onDone: (o) =>
            process.stderr.write(o.ok ? `done ${o.job.out}\n` : `FAILED ${o.job.out}: ${o.error}\n`),
        });
        process.stdout.write((flags.json ? JSON.stringify(summary, null, 2) : formatRunAll(summary)) + '\n');
        if (summary.entries.some((e) => !e.ok)) process.exitCode = 1;
      }
    });
}
