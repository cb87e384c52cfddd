import type { Command } from 'commander';
import { group } from './index.js';
import { CliError } from '../errors.js';

function integer(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
    throw new CliError(`--${name} must be a non-negative integer (got "${value}")`);
  return n;
}

/** `mmgenre data synth`: write a synthetic MM-IMDB-layout dataset with a learnable genre signal. */
export function register(program: Command): void {
  group(program, 'data', 'datasets: fetch, check, describe, synthesise')
    .command('synth')
    .description(
      'write a synthetic dataset in the MM-IMDB directory layout (posters and plots that carry genre signal)',
    )
    .requiredOption(
      '--out <dir>',
      'output directory (created; must be empty or an earlier synth run with the same options)',
    )
    .option('--n <count>', 'number of movies', '300')
    .option('--seed <int>', 'random seed (same seed, same bytes)', '1')
    .option('--labels <list>', 'comma-separated label set (default: the 23 MM-IMDB genres)')
    .action(async (opts: { out: string; n: string; seed: string; labels?: string }) => {
      const n = integer('n', opts.n);
      if (n < 1) throw new CliError('--n must be at least 1');
      const seed = integer('seed', opts.seed);
      const labels = opts.labels
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const { synthesizeDataset } = await import('../../data/synth.js');
      const result = await synthesizeDataset({ out: opts.out, n, seed, labels });
      const { counts } = result;
      const lines = [
        `wrote ${result.n} movies to ${result.out}${result.reused ? ` (${result.reused} kept from an earlier run)` : ''}`,
        `split   train ${counts.train}  dev ${counts.dev}  test ${counts.test}`,
        `genres per movie  ${counts.cardinality.toFixed(2)}`,
        '',
        'genre            movies',
        ...Object.entries(counts.perGenre).map(([g, c]) => `${g.padEnd(16)} ${String(c).padStart(6)}`),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}
