import { InvalidArgumentError, type Command } from 'commander';
import { group } from './index.js';

/** `mmgenre data stats DIR`: counts per split and genre, label cardinality, plot lengths, poster sizes. */
export function register(program: Command): void {
  group(program, 'data', 'datasets: check, statistics, download, synthetic data')
    .command('stats')
    .description(
      'describe a dataset: movies per split and genre, genres per movie, plot lengths, poster sizes',
    )
    .argument('<path>', 'dataset folder or file')
    .option('--json', 'print the statistics as JSON')
    .option('--seed <n>', 'seed of the TMDB split', parseCount)
    .action(async (path: string, o: { json?: boolean; seed?: number }) => {
      const { loadDataset } = await import('../../data/load.js');
      const { datasetStats, formatStats } = await import('../../data/stats.js');
      const ds = await loadDataset(path, { seed: o.seed });
      const stats = await datasetStats(ds, { progress: !o.json });
      process.stdout.write(o.json ? JSON.stringify(stats, null, 2) + '\n' : formatStats(stats));
    });
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(v);
}
