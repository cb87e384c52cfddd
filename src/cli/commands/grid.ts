import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { GRID_FEATURES } from '../../experiments/study/features.js';
import { GRID_FUSIONS, STUDY_FUSIONS, type GridFusion } from '../../experiments/study/published.js';
import type { CombinationMode } from '../../experiments/study/combinations.js';
import type { MissingPosterMode } from '../../experiments/study/types.js';

interface GridFlags {
  data: string;
  features?: string;
  fusion: string;
  seeds: string;
  combinations: string;
  missingPoster: string;
  workers: string;
  out?: string;
  json?: boolean;
  epochs?: string;
  posterEncoder?: string;
  cache?: string;
}

const positiveInt = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got '${v}'`);
  return n;
};

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v))
    throw new CliError(
      `--${name} must be ${allowed.slice(0, -1).join(', ')}${allowed.length > 1 ? ' or ' : ''}${allowed.at(-1)}, got '${v}'`,
    );
  return v as T;
}

/** `mmgenre grid`: the TMDB feature-combination study (issue 8) on any dataset folder. */
export function register(program: Command): void {
  program
    .command('grid')
    .description(
      'train every feature combination × fusion × seed (the TMDB study’s seven rows by default) and print the study’s table with ours',
    )
    .requiredOption('--data <dir>', 'dataset folder (TMDB movies_metadata.csv + posters/, or MM-IMDB)')
    .option(
      '--features <list>',
      `comma-separated, from ${GRID_FEATURES.join(', ')} (plot = overview); default: all the dataset has`,
    )
    .option(
      '--fusion <list>',
      `comma-separated, from ${GRID_FUSIONS.join(', ')} (gmu: the Gated Multimodal Unit over all inputs; moe: mixture of experts)`,
      STUDY_FUSIONS.join(','),
    )
    .option('--seeds <n>', 'seeds per row (1..n), or a comma-separated list', '3')
    .option('--combinations <mode>', "'study' (its seven rows) or 'all' (every non-empty subset)", 'study')
    .option('--missing-poster <mode>', "'drop' (poster rows use movies with a poster) or 'mask'", 'drop')
    .option('--workers <n>', 'parallel trainings (and feature threads)', '2')
    .option('--out <dir>', 'output folder (default: <runs>/grid-<dataset>); re-running reuses finished runs')
    .option('--epochs <n>', 'maximum epochs per training (default 40)')
    .option(
      '--poster-encoder <name>',
      'poster encoder (default mobilenet_v2; mobilenet_v2_onnx is the same network, faster)',
    )
    .option('--cache <dir>', 'feature cache folder (default: $MMGENRE_CACHE_DIR or ~/.cache/mmgenre)')
    .option('--json', 'print the report as JSON instead of the table')
    .action(async (flags: GridFlags) => {
      const seeds = flags.seeds.includes(',')
        ? flags.seeds.split(',').map((s) => {
            const n = Number(s.trim());
            if (!Number.isInteger(n) || n < 0)
              throw new CliError(`--seeds: '${s}' is not a non-negative integer`);
            return n;
          })
        : positiveInt('seeds', flags.seeds);
      const fusions = flags.fusion.split(',').map((f) => oneOf<GridFusion>('fusion', f.trim(), GRID_FUSIONS));
      const { formatGridText, parseFeatureList, runGrid } = await import('../../experiments/study/index.js');
      {
        const controller = new AbortController();
        const onSigint = (): void => {
          process.stderr.write(
            '\nmmgenre: stopping (finished runs are kept; run the same command to resume)\n',
          );
          controller.abort();
        };
        process.once('SIGINT', onSigint);
        const report = await runGrid({
          data: flags.data,
          features: flags.features ? parseFeatureList(flags.features) : undefined,
          fusions: [...new Set(fusions)],
          seeds,
          combinations: oneOf<CombinationMode>('combinations', flags.combinations, ['study', 'all']),
          missingPoster: oneOf<MissingPosterMode>('missing-poster', flags.missingPoster, ['drop', 'mask']),
          workers: positiveInt('workers', flags.workers),
          out: flags.out,
          training: flags.epochs ? { epochs: positiveInt('epochs', flags.epochs) } : undefined,
          encoders: flags.posterEncoder ? { poster: flags.posterEncoder } : undefined,
          cacheDir: flags.cache,
          signal: controller.signal,
        }).finally(() => process.removeListener('SIGINT', onSigint));
        process.stdout.write(
          flags.json ? JSON.stringify(report, null, 2) + '\n' : formatGridText(report) + '\n',
        );
        if (report.runs.some((r) => r.status === 'failed')) process.exitCode = 1;
      }
    });
}
