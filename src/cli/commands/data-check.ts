import { InvalidArgumentError, type Command } from 'commander';
import { group } from './index.js';

/** `mmgenre data check DIR`: validate every record of a dataset and summarise what is usable. */
export function register(program: Command): void {
  group(program, 'data', 'datasets: check, statistics, download, synthetic data')
    .command('check')
    .description(
      'validate a dataset (MM-IMDB folder, TMDB movies_metadata.csv or its folder, MM-IMDB .hdf5): ' +
        'valid movies per split and genre, and every problem found, by kind',
    )
    .argument('<path>', 'dataset folder or file')
    .option('--json', 'print the report as JSON')
    .option(
      '--no-verify-posters',
      'only check that posters exist and look like images (fast); default: decode each one',
    )
    .option('--seed <n>', 'seed of the TMDB split', parseCount)
    .option('--examples <n>', 'examples shown per kind of issue', parseCount, 3)
    .action(
      async (
        path: string,
        o: { json?: boolean; verifyPosters: boolean; seed?: number; examples: number },
      ) => {
        const { checkDataset, formatCheckReport } = await import('../../data/check.js');
        const report = await checkDataset(path, {
          verifyPosters: o.verifyPosters,
          seed: o.seed,
          examples: o.examples,
          progress: !o.json,
        });
        process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatCheckReport(report));
      },
    );
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(v);
}
