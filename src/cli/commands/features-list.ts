import type { Command } from 'commander';
import { resolve } from 'node:path';
import { env } from '../../env.js';
import { group } from './index.js';

/** `mmgenre features list`: what the feature cache holds. */
export function register(program: Command): void {
  group(program, 'features', 'the feature cache: extract encoder features once, list what is cached')
    .command('list')
    .description('list cached features: dataset, encoder, shape, missing rows, status, size on disk')
    .option('--cache <dir>', 'cache directory (default: $MMGENRE_CACHE_DIR or ~/.cache/mmgenre)')
    .option('--json', 'print the listing as JSON')
    .action(async (o: { cache?: string; json?: boolean }) => {
      const { describeCache, formatCacheListing } = await import('../../features/summary.js');
      const dir = resolve(o.cache ?? env.cacheDir);
      const rows = describeCache(dir);
      process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + '\n' : formatCacheListing(rows, dir));
    });
}
