import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SPLITS, type SplitName } from '../../data/types.js';
import { CliError } from '../errors.js';
import { parseThresholdOption, THRESHOLD_HELP } from '../options.js';

interface EvalCliOptions {
  predictions: string;
  data: string;
  split: string;
  threshold: string;
  thresholds?: string;
  json?: string;
  bootstrap: string;
  seed: string;
}

/** `mmgenre eval`: every metric of a predictions file on a dataset split. */
export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'evaluate a predictions file (JSON Lines) on a dataset split: F1/P/R (micro, macro, weighted, samples), ROC-AUC, AP, Hamming, accuracies, per-genre table',
    )
    .requiredOption(
      '--predictions <file>',
      'predictions JSON Lines: {"id": ..., "scores": {"Drama": 0.83, ...}} per line',
    )
    .requiredOption('--data <dir>', 'dataset (MM-IMDB folder, TMDB csv, ...)')
    .option('--split <name>', `split to evaluate: ${SPLITS.join(', ')} or all`, 'test')
    .option(
      '--threshold <t>',
      `${THRESHOLD_HELP}; tuned reads thresholds.json beside the predictions, or --thresholds`,
      '0.5',
    )
    .option(
      '--thresholds <file>',
      'thresholds.json with per-genre thresholds tuned on dev (implies --threshold tuned)',
    )
    .option('--json <file>', 'write every metric as JSON')
    .option('--bootstrap <n>', 'bootstrap resamples for 95% CIs of the F1s (0 = none)', '0')
    .option('--seed <n>', 'bootstrap seed', '42')
    .action(async (o: EvalCliOptions) => {
      const split = o.split as SplitName | 'all';
      if (split !== 'all' && !SPLITS.includes(split))
        throw new CliError(`unknown split "${o.split}": use ${SPLITS.join(', ')} or all`);
      if (!existsSync(o.predictions)) throw new CliError(`predictions file not found: ${o.predictions}`);
      let thresholdsFile = o.thresholds;
      const parsed = parseThresholdOption(o.threshold);
      let threshold: number | undefined;
      if (parsed === 'tuned' || thresholdsFile) {
        thresholdsFile ??= join(dirname(o.predictions), 'thresholds.json');
        if (!existsSync(thresholdsFile)) {
          throw new CliError(
            `--threshold tuned needs per-genre thresholds: ${thresholdsFile} not found (pass --thresholds FILE)`,
          );
        }
      } else {
        threshold = parsed;
      }
      const bootstrap = Number(o.bootstrap);
      const seed = Number(o.seed);
      if (!Number.isInteger(bootstrap) || bootstrap < 0)
        throw new CliError(`--bootstrap must be a whole number, got "${o.bootstrap}"`);
      if (!Number.isInteger(seed)) throw new CliError(`--seed must be an integer, got "${o.seed}"`);

      const { loadDataset } = await import('../../data/load.js');
      const { evaluatePredictionsFile } = await import('../../eval/evaluate-predictions.js');
      const { formatCoverage, formatHeadline, formatPerGenre } = await import('../../eval/text-tables.js');
      const { writeJsonAtomic } = await import('../../util/atomic.js');
      let dataset;
      try {
        dataset = await loadDataset(o.data);
      } catch (err) {
        throw new CliError(`cannot load dataset ${o.data}: ${(err as Error).message}`);
      }
      let report;
      try {
        report = evaluatePredictionsFile(o.predictions, dataset, {
          split,
          threshold,
          thresholdsFile,
          bootstrap,
          seed,
        });
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const out = process.stdout;
      out.write(`${formatCoverage(report)}\n\n`);
      if (report.coverage.evaluated === 0) {
        if (o.json) writeJsonAtomic(o.json, report);
        throw new CliError('no movie of the split has a valid prediction: nothing to evaluate');
      }
      out.write(`${formatHeadline(report)}\n\n${formatPerGenre(report)}\n`);
      if (o.json) {
        writeJsonAtomic(o.json, report);
        out.write(`\nwrote ${o.json}\n`);
      }
      const c = report.coverage;
      if (c.fileErrors.length + c.missingPredictions.length + c.unknownIds.length > 0) {
        process.stderr.write(
          `mmgenre: warning: ${c.fileErrors.length} bad line(s), ${c.missingPredictions.length} movie(s) without prediction, ${c.unknownIds.length} unknown id(s); see above\n`,
        );
      }
    });
}
