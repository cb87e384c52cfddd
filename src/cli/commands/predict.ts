import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { SPLITS, type SplitName } from '../../data/types.js';
import { DatasetFormatError } from '../../data/load.js';
import { formatPrediction } from '../../predict/format.js';
import { loadPredictor, predictDataset } from '../../predict/index.js';
import { NoUsableInputError, PredictorError, type ThresholdKind } from '../../predict/types.js';
import { RunNotFoundError } from '../../train/run.js';
import { CliError } from '../errors.js';

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
  if (t === '0.5' || t === 'tuned') return t;
  throw new CliError(`--threshold must be 0.5 or tuned, got "${t}"`);
}

/** Library errors a user can fix become CliErrors (no stack trace). */
function userError(err: unknown): never {
  if (
    err instanceof RunNotFoundError ||
    err instanceof PredictorError ||
    err instanceof NoUsableInputError ||
    err instanceof DatasetFormatError
  ) {
    throw new CliError(err.message);
  }
  throw err;
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
    .option('--plot-file <file>', 'read the plot synopsis from a text file')
    .option('--title <text>', 'movie title (for models that read it)')
    .option('--threshold <kind>', '0.5 or tuned (default: tuned when the run has thresholds.json)')
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
        if (!existsSync(o.plotFile)) throw new CliError(`plot file not found: ${o.plotFile}`);
        plot = readFileSync(o.plotFile, 'utf8');
      }
      if (o.poster !== undefined && !existsSync(o.poster))
        throw new CliError(`poster not found: ${o.poster}`);
      if (o.poster === undefined && (plot === undefined || plot.trim() === '') && o.title === undefined) {
        throw new CliError(
          'nothing to predict from: give --poster FILE and/or --plot TEXT (or --data DIR --out FILE)',
        );
      }
      let top: number | undefined;
      if (o.top !== undefined) {
        top = Number(o.top);
        if (!Number.isInteger(top) || top < 1)
          throw new CliError(`--top must be a positive whole number, got "${o.top}"`);
      }
      const predictor = await loadPredictor(o.model, { threshold }).catch(userError);
      try {
        const [prediction] = await predictor
          .predict([{ poster: o.poster, plot, title: o.title }], { threshold })
          .catch(userError);
        if (o.json)
          process.stdout.write(`${JSON.stringify({ run: predictor.name, ...prediction }, null, 2)}\n`);
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
  const r = await predictDataset(o.model, o.data!, { out: o.out, split, cache: o.cache, workers }).catch(
    userError,
  );
  // Name the movies an input was missing for (the first ten), not only how many.
  const missing = Object.entries(r.missingMovies)
    .filter(([, movies]) => movies.length > 0)
    .map(([input, movies]) => {
      const named = movies.slice(0, 10).map((m) => (m.title ? `${m.id} (${m.title})` : m.id));
      const more = movies.length > 10 ? `, ... and ${movies.length - 10} more` : '';
      return `${input} missing for ${movies.length}: ${named.join(', ')}${more}`;
    });
  process.stdout.write(
    `predicted ${r.rows} movie(s) of ${r.dataset.root} (${r.dataset.format}, split ${r.split}) in ${r.seconds.toFixed(1)} s → ${r.out}\n` +
      (missing.length ? `${missing.join('\n')}\n` : 'every input present for every movie\n'),
  );
  if (r.skipped.length > 0) {
    process.stdout.write(`skipped ${r.skipped.length} movie(s) with no usable input:\n`);
    for (const s of r.skipped.slice(0, 10)) {
      process.stdout.write(`  ${s.id}: ${s.missing.map((m) => `${m.input}: ${m.reason}`).join('; ')}\n`);
    }
    if (r.skipped.length > 10) process.stdout.write(`  ... and ${r.skipped.length - 10} more\n`);
  }
}
