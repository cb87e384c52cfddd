import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { CliError } from '../errors.js';
import { env } from '../../env.js';
import { FRESHNESS_HELP, freshnessArg } from '../options.js';
import type { TrainJob, TrainingOverrides, TrainRunResult } from '../../train/index.js';

const intArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new CliError(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
};
const numArg = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`--${name} must be a positive number, got '${v}'`);
  return n;
};

interface TrainFlags {
  config: string[];
  data: string;
  out: string;
  epochs?: number;
  seed?: number;
  seeds?: string;
  lr?: number;
  batchSize?: number;
  resume?: boolean;
  workers?: number;
  backend?: 'wasm' | 'cpu';
  engine?: 'auto' | 'onnx' | 'tfjs';
  sources?: string;
  freshness?: 'stat' | 'content';
}

function row(name: string, r: TrainRunResult): string {
  const f = (x: number | undefined): string => (x === undefined ? '   -  ' : x.toFixed(4));
  return [
    name.padEnd(28),
    r.status.padEnd(11),
    String(r.fit.bestEpoch).padStart(4),
    f(r.fit.bestDevMacroF1),
    f(r.test?.at05.micro),
    f(r.test?.at05.macro),
    f(r.test?.at05.weighted),
    f(r.test?.at05.samples),
    f(r.test?.tuned.micro),
    f(r.test?.tuned.macro),
  ].join('  ');
}

// The scores are on the test split (touched once, after model selection on dev): the header says so.
const HEADER =
  `${''.padEnd(28)}  ${''.padEnd(11)}  ${'dev'.padEnd(13)}  ${'test F1 at 0.5'.padEnd(30)}  test F1 tuned*\n` +
  `${'run'.padEnd(28)}  ${'status'.padEnd(11)}  best  devMaF1  micro   macro   weight  sample  ` +
  `micro*  macro*\n`;

/** `mmgenre train`: one command from a dataset directory to a trained, evaluated model. */
export function register(program: Command): void {
  program
    .command('train')
    .description('train a model from a config on a dataset directory (extracts missing features first)')
    .requiredOption(
      '--config <name-or-file...>',
      'shipped config name (e.g. poster-frozen) or YAML file; several run in parallel',
    )
    .requiredOption('--data <dir>', 'dataset directory (MM-IMDB layout, TMDB, ...)')
    .requiredOption('--out <dir>', 'run directory (with several configs or seeds: parent of one run per job)')
    .option('--epochs <n>', 'maximum epochs', intArg('epochs'))
    .option('--seed <n>', 'random seed', intArg('seed'))
    .option('--seeds <list>', 'several seeds, comma-separated (one run each, in parallel)')
    .option('--lr <x>', 'learning rate', numArg('lr'))
    .option('--batch-size <n>', 'batch size', intArg('batch-size'))
    .option('--resume', "continue from the run directory's last checkpoint")
    .option(
      '--sources <dir>',
      'folder of the runs a fusion reads (e.g. text-mlp2-meanglove for fusion-gmu): used when finished there, trained there first when missing (default: the folder holding --out)',
    )
    .option(
      '--workers <n>',
      'parallel trainings when there are several jobs (default: every core)',
      intArg('workers'),
    )
    .option('--backend <name>', 'wasm (default) or cpu')
    .option(
      '--engine <name>',
      'what computes the gradients: auto (default: onnxruntime for dense heads and fusions), onnx or tfjs',
    )
    .option('--freshness <mode>', FRESHNESS_HELP, freshnessArg)
    .action(async (flags: TrainFlags) => {
      // Every extraction of this command (worker threads too) judges the cache this way.
      if (flags.freshness) env.featureFreshness = flags.freshness;
      const overrides: TrainingOverrides = {
        epochs: flags.epochs,
        seed: flags.seed,
        lr: flags.lr,
        batchSize: flags.batchSize,
        engine: flags.engine,
      };
      const seeds = flags.seeds ? flags.seeds.split(',').map((s) => intArg('seeds')(s.trim())) : [flags.seed];
      const { loadConfig, withOverrides } = await import('../../runs/config.js');
      const { trainFromConfig, trainMany, ensureSourceRuns } = await import('../../train/index.js');
      {
        for (const c of flags.config) loadConfig(c); // fail fast on a bad config, before any work
        if (flags.config.length === 1 && seeds.length === 1) {
          const config = loadConfig(flags.config[0]);
          const controller = new AbortController();
          const onSigint = (): void => {
            process.stderr.write(
              '\nmmgenre: stopping after this epoch (checkpoint kept; --resume continues)\n',
            );
            controller.abort();
          };
          process.once('SIGINT', onSigint);
          try {
            const r = await trainFromConfig(config, flags.data, {
              out: flags.out,
              resume: flags.resume,
              overrides,
              signal: controller.signal,
              backend: flags.backend,
              extractWorkers: flags.workers,
              sourcesDir: flags.sources,
            });
            process.stdout.write(HEADER + row(config.name, r) + '\n');
            process.stdout.write(`(* = thresholds tuned on dev)  run directory: ${r.dir}\n`);
            if (r.status === 'interrupted') process.exitCode = 130;
          } finally {
            process.removeListener('SIGINT', onSigint);
          }
          return;
        }
        const jobs: TrainJob[] = [];
        for (const c of flags.config) {
          const name = loadConfig(c).name;
          for (const seed of seeds) {
            // Each seed reads source runs of its own seed: one sources folder per seed.
            const sourcesDir =
              seeds.length > 1
                ? join(flags.sources ?? flags.out, `sources-s${seed ?? 'default'}`)
                : (flags.sources ?? flags.out);
            jobs.push({
              sourcesDir,
              config: c,
              data: flags.data,
              out: join(flags.out, seed === undefined ? name : `${name}-s${seed}`),
              overrides: { ...overrides, seed },
              resume: flags.resume,
              backend: flags.backend,
            });
          }
        }
        // Source runs first, one at a time here, so that parallel jobs never train the same one.
        for (const job of jobs)
          await ensureSourceRuns(withOverrides(loadConfig(job.config), job.overrides ?? {}), {
            sourcesDir: resolve(job.sourcesDir!),
            seedOffset:
              (job.overrides?.seed ?? loadConfig(job.config).training.seed) -
              loadConfig(job.config).training.seed,
            epochs: job.overrides?.epochs,
            train: (c, out, resume) =>
              trainFromConfig(c, job.data, { out, resume, backend: job.backend, sourcesDir: job.sourcesDir }),
          });
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        const outcomes = await trainMany(jobs, {
          workers: flags.workers,
          signal: controller.signal,
          onDone: (o) =>
            process.stderr.write(`${o.ok ? 'done' : 'FAILED'}: ${o.job.out}${o.ok ? '' : ` (${o.error})`}\n`),
        });
        process.stdout.write(HEADER);
        for (const o of outcomes) {
          const name = o.job.out.split('/').at(-1)!;
          process.stdout.write(
            o.ok ? row(name, o.result) + '\n' : `${name.padEnd(28)}  failed: ${o.error}\n`,
          );
        }
        process.stdout.write('(* = thresholds tuned on dev)\n');
        if (outcomes.some((o) => !o.ok)) process.exitCode = 1;
      }
    });
}
