import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { SPLITS, type SplitName } from '../../data/types.js';
import type { ThresholdKind } from '../../predict/types.js';
import { CliError } from '../errors.js';
import { parseThresholdOption, parseTopOption, THRESHOLD_HELP } from '../options.js';

interface PredictCliOptions {
  model: string;
  poster?: string;
  plot?: string;
  plotFile?: string;
  title?: string;
  threshold?: string;
  json?: boolean;
  top?: string;
  data?: string;
  out?: string;
  split: string;
  cache: boolean;
  workers?: string;
}

function parseThreshold(t: string | undefined): ThresholdKind | undefined {
  if (t === undefined) return undefined;
  const parsed = parseThresholdOption(t);
  if (parsed === 'tuned') return 'tuned';
  if (parsed === 0.5) return '0.5';
  throw new CliError(
    `predict applies 0.5 or tuned thresholds; evaluate other fixed thresholds with mmgenre eval`,
  );
}

/** `mmgenre predict`: genres of one movie from its poster and plot, or of every movie of a dataset. */
export function register(program: Command): void {
  program
    .command('predict')
    .description(
      'predict genres with a trained run: one movie (--poster and/or --plot) or every movie of a dataset (--data --out)',
    )
    .requiredOption('--model <run>', 'run directory (from mmgenre train)')
    .option('--poster <file>', 'poster image (JPEG, PNG, WebP, GIF...)')
    .option('--plot <text>', 'plot synopsis')
    .option('--plot-file <file>', 'read the plot synopsis from a text file ("-": standard input)')
    .option('--title <text>', 'movie title (for models that read it)')
    .option('--threshold <t>', `${THRESHOLD_HELP} (default: tuned when the run has thresholds.json)`)
    .option('--json', 'print the prediction as JSON')
    .option('--top <n>', 'show only the n most probable genres')
    .option('--data <dir>', 'predict every movie of this dataset (any supported layout)')
    .option('--out <file>', 'predictions JSON Lines to write (with --data)')
    .option('--split <name>', `with --data: ${SPLITS.join(', ')} or all`, 'test')
    .option('--no-cache', 'with --data: encode directly, without the feature cache')
    .option('--workers <n>', 'with --data: worker threads for feature extraction')
    .action(async (o: PredictCliOptions) => {
      const threshold = parseThreshold(o.threshold);
      if (!existsSync(o.model)) throw new CliError(`run directory not found: ${o.model}`);
      if (o.data !== undefined) {
        await predictDatasetCommand(o);
        return;
      }
      if (o.out) throw new CliError('--out goes with --data (predictions of a whole dataset)');
      if (o.plot !== undefined && o.plotFile !== undefined)
        throw new CliError('give --plot or --plot-file, not both');
      let plot = o.plot;
      if (o.plotFile !== undefined) {
        if (o.plotFile !== '-' && !existsSync(o.plotFile))
          throw new CliError(`plot file not found: ${o.plotFile}`);
        plot = readFileSync(o.plotFile === '-' ? 0 : o.plotFile, 'utf8');
      }
      if (o.poster !== undefined && !existsSync(o.poster))
        throw new CliError(`poster not found: ${o.poster}`);
      if (o.poster === undefined && (plot === undefined || plot.trim() === '') && o.title === undefined) {
        throw new CliError(
          'nothing to predict from: give --poster FILE and/or --plot TEXT (or --data DIR --out FILE)',
        );
      }
      const top = o.top === undefined ? undefined : parseTopOption(o.top);
      const { loadPredictor } = await import('../../predict/index.js');
      const { formatPrediction, topOfPrediction } = await import('../../predict/format.js');
      const predictor = await loadPredictor(o.model, { threshold });
      try {
        const [prediction] = await predictor.predict([{ poster: o.poster, plot, title: o.title }], {
          threshold,
        });
        if (o.json)
          process.stdout.write(
            `${JSON.stringify({ run: predictor.name, ...topOfPrediction(prediction, top) }, null, 2)}\n`,
          );
        else
          process.stdout.write(
            `run: ${predictor.name} (${predictor.dir})\n${formatPrediction(prediction, { top })}\n`,
          );
      } finally {
        predictor.dispose();
      }
    });
}

async function predictDatasetCommand(o: PredictCliOptions): Promise<void> {
  if (!o.out) throw new CliError('--data needs --out FILE (the predictions JSON Lines to write)');
  if (o.poster !== undefined || o.plot !== undefined || o.plotFile !== undefined) {
    throw new CliError('--data predicts a whole dataset: leave out --poster/--plot');
  }
  const split = o.split as SplitName | 'all';
  if (split !== 'all' && !SPLITS.includes(split)) {
    throw new CliError(`unknown split "${o.split}": use ${SPLITS.join(', ')} or all`);
  }
  let workers: number | undefined;
  if (o.workers !== undefined) {
    workers = Number(o.workers);
    if (!Number.isInteger(workers) || workers < 0)
      throw new CliError(`--workers must be a whole number, got "${o.workers}"`);
  }
  const { predictDataset } = await import('../../predict/index.js');
  const r = await predictDataset(o.model, o.data!, { out: o.out, split, cache: o.cache, workers });
  const missing = Object.entries(r.missingByInput)
    .map(([input, count]) => `${input} missing for ${count}`)
    .join(', ');
  process.stdout.write(
    `predicted ${r.rows} movie(s) of ${r.dataset.root} (${r.dataset.format}, split ${r.split}) in ${r.seconds.toFixed(1)} s → ${r.out}\n` +
      `${missing}\n`,
  );
  if (r.skipped.length > 0) {
    process.stdout.write(`skipped ${r.skipped.length} movie(s) with no usable input:\n`);
    for (const s of r.skipped.slice(0, 10)) {
      process.stdout.write(`  ${s.id}: ${s.missing.map((m) => `${m.input}: ${m.reason}`).join('; ')}\n`);
    }
    if (r.skipped.length > 10) process.stdout.write(`  ... and ${r.skipped.length - 10} more\n`);
  }
}
