import type { Command } from 'commander';
import { SPLITS, type Dataset, type SplitName } from '../../data/types.js';
import { CliError } from '../errors.js';

interface CompareCliOptions {
  published?: boolean;
  data?: string;
  split: string;
  json?: string;
}

/** `mmgenre compare`: our runs beside the published MM-IMDB results. */
export function register(program: Command): void {
  program
    .command('compare')
    .description(
      'compare runs (directories with eval.json, eval JSON files, or predictions .jsonl with --data) with each other and with published MM-IMDB results',
    )
    .argument('[inputs...]', 'run directories, eval JSON files or predictions files')
    .option('--published', 'include the published results (the default when no input is given)')
    .option('--data <dir>', 'dataset to evaluate predictions files against')
    .option('--split <name>', `split for predictions files: ${SPLITS.join(', ')}`, 'test')
    .option('--json <file>', 'write the comparison (with every source and verification note) as JSON')
    .action(async (inputs: string[], o: CompareCliOptions) => {
      if (!SPLITS.includes(o.split as SplitName)) throw new CliError(`unknown split "${o.split}"`);
      const { loadDataset } = await import('../../data/load.js');
      const { buildCompareReport, formatCompare, loadCompareInput } = await import('../../eval/compare.js');
      const published = await import('../../eval/published.js');
      const { writeJsonAtomic } = await import('../../util/atomic.js');
      let dataset: Dataset | undefined;
      if (o.data) {
        try {
          dataset = await loadDataset(o.data);
        } catch (err) {
          throw new CliError(`cannot load dataset ${o.data}: ${(err as Error).message}`);
        }
      }
      const loaded = inputs.map((p) => {
        try {
          return loadCompareInput(p, { dataset, split: o.split as SplitName });
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      });
      const report = buildCompareReport(loaded, Boolean(o.published));
      process.stdout.write(`${formatCompare(report)}\n`);
      if (o.json) {
        writeJsonAtomic(o.json, {
          ...report,
          publishedData:
            report.published.length > 0
              ? {
                  results: published.PUBLISHED_RESULTS,
                  sources: published.PUBLISHED_SOURCES,
                  table3: {
                    source: published.PAPER_TABLE3_SOURCE,
                    verified: published.PAPER_TABLE3_VERIFIED,
                    rows: published.PAPER_TABLE3,
                  },
                }
              : undefined,
        });
        process.stdout.write(`wrote ${o.json}\n`);
      }
    });
}
