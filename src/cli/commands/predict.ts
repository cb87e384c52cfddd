import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { SPLITS, type SplitName } from '../../data/types.js';
import { DEFAULT_THRESHOLD_POLICY } from '../../eval/thresholds.js';
import type { PredictDatasetResult } from '../../predict/index.js';
import { defaultModelDir } from '../../predict/default-model.js';
import type { ThresholdKind } from '../../predict/types.js';
import type { ReadMoviesResult, UnreadableMovie } from '../../predict/unlabeled.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { CliError } from '../errors.js';
import { parseThresholdOption, parseTopOption, THRESHOLD_HELP } from '../options.js';

interface PredictCliOptions {
  model?: string;
  input?: string;
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
  queue?: string;
  shardRows?: string;
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

/** The run to predict with: --model, or the model shipped with the package. */
function modelDir(o: PredictCliOptions): string {
  if (o.model === undefined) return defaultModelDir();
  if (!existsSync(o.model)) throw new CliError(`run directory not found: ${o.model}`);
  return o.model;
}

/** `mmgenre predict`: genres of one movie from its poster and plot, or of every movie of a dataset. */
export function register(program: Command): void {
  program
    .command('predict')
    .description(
      'predict genres with a trained run: one movie (--poster and/or --plot) or every movie of a dataset (--data --out)',
    )
    .option('--model <run>', 'run directory (from mmgenre train); default: the model shipped with mmgenre')
    .option(
      '--input <path>',
      'unlabeled movies (no genres, no split): a .jsonl or .csv file (id, title, plot, poster path), a folder of <id>.json / <id>.jpeg files, or - for JSON Lines on stdin; one JSON line out per movie',
    )
    .option('--poster <file>', 'poster image (JPEG, PNG, WebP, GIF...)')
    .option('--plot <text>', 'plot synopsis')
    .option('--plot-file <file>', 'read the plot synopsis from a text file ("-": standard input)')
    .option('--title <text>', 'movie title (for models that read it)')
    .option(
      '--threshold <t>',
      `${THRESHOLD_HELP}; default 0.5 (tuned uses per-genre thresholds only for genres with >= 20 dev positives)`,
    )
    .option('--json', 'print the prediction as JSON')
    .option('--top <n>', 'show only the n most probable genres')
    .option('--data <dir>', 'predict every movie of this dataset (any supported layout)')
    .option('--out <file>', 'predictions JSON Lines to write (with --data; with --input, default stdout)')
    .option('--split <name>', `with --data: ${SPLITS.join(', ')} or all`, 'test')
    .option('--no-cache', 'with --data: encode directly, without the feature cache')
    .option('--workers <n>', 'with --data: worker threads for feature extraction')
    .option(
      '--queue <url>',
      'with --data or --input: predict on queue workers (mmgenre worker): redis://HOST:PORT/DB',
    )
    .option('--shard-rows <n>', 'with --queue: movies per job (default 256)')
    .addHelpText(
      'after',
      `
Examples:
  $ mmgenre predict --poster poster.jpg --plot "A retired detective is pulled back for one last case."
  $ mmgenre predict --input movies.jsonl --out predictions.jsonl
  $ cat movies.jsonl | mmgenre predict --input - > predictions.jsonl
  $ mmgenre predict --model runs/fusion-gmu --data ../shared/datasets/mmimdb-sample --out preds.jsonl

Without --model, the model shipped with mmgenre is used (models/default, see its MODEL_CARD.md).
With --input, the exit status is 0 when every movie was predicted, 1 when some could not be
(each is listed with its reason), 2 when the input cannot be read at all.`,
    )
    .action(async (o: PredictCliOptions) => {
      const threshold = parseThreshold(o.threshold);
      const model = modelDir(o);
      if (o.input !== undefined) {
        if (
          o.data !== undefined ||
          o.poster !== undefined ||
          o.plot !== undefined ||
          o.plotFile !== undefined
        )
          throw new CliError('--input predicts the movies it lists: leave out --data, --poster and --plot');
        if (o.queue) await predictInputOnQueue(o, model, threshold);
        else await predictInputCommand(model, o.input, o.out, threshold);
        return;
      }
      if (o.data !== undefined) {
        await predictDatasetCommand(o, model);
        return;
      }
      if (o.out) throw new CliError('--out goes with --data (predictions of a whole dataset)');
      if (o.queue) throw new CliError('--queue goes with --data (predictions of a whole dataset)');
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
      const { formatPrediction, topOfPrediction } = await import('../../predict/format-prediction.js');
      const predictor = await loadPredictor(model, { threshold });
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
            `run: ${predictor.name} (${o.model === undefined ? 'the model shipped with mmgenre, ' : ''}${predictor.dir})\n${formatPrediction(prediction, { top })}\n`,
          );
      } finally {
        predictor.dispose();
      }
    });
}

/** `predict --input`: unlabeled movies from a file, a folder or stdin, one JSON line each. */
async function predictInputCommand(
  model: string,
  input: string,
  out: string | undefined,
  threshold: ThresholdKind | undefined,
): Promise<void> {
  const { parseMoviesJsonl, predictMovies, readUnlabeledMovies } = await import('../../predict/unlabeled.js');
  const { loadPredictor } = await import('../../predict/index.js');
  const read: ReadMoviesResult =
    input === '-' ? parseMoviesJsonl(await readStdin(), process.cwd()) : readUnlabeledMovies(input);
  const predictor = await loadPredictor(model, { threshold });
  const lines: string[] = [];
  const toStdout = out === undefined || out === '-';
  const emit = (line: object): void => {
    const text = `${JSON.stringify(line)}\n`;
    if (toStdout) process.stdout.write(text);
    else lines.push(text);
  };
  let failed: UnreadableMovie[];
  let predicted: number;
  try {
    for (const bad of read.unreadable) emit(bad);
    ({ predicted, failed } = await predictMovies(predictor, read.movies, emit));
  } finally {
    predictor.dispose();
  }
  if (!toStdout) writeFileAtomic(out!, lines.join(''));
  const problems = [...read.unreadable, ...failed];
  process.stderr.write(
    `mmgenre: predicted ${predicted} movie(s) with ${predictor.name} (thresholds ${threshold ?? DEFAULT_THRESHOLD_POLICY})${toStdout ? '' : ` -> ${out}`}\n`,
  );
  if (problems.length > 0) {
    process.stderr.write(`mmgenre: ${problems.length} movie(s) could not be predicted:\n`);
    for (const p of problems) process.stderr.write(`  ${p.id}: ${p.error}\n`);
    process.exitCode = predicted > 0 ? 1 : 2;
  }
}

/** `predict --input FILE|DIR --queue URL`: the same lines, predicted by queue workers. */
async function predictInputOnQueue(
  o: PredictCliOptions,
  model: string,
  threshold: ThresholdKind | undefined,
): Promise<void> {
  const input = o.input!;
  if (input === '-')
    throw new CliError('--queue needs --input FILE or DIR (workers read the posters beside it)');
  const { readUnlabeledMovies } = await import('../../predict/unlabeled.js');
  const read: ReadMoviesResult = readUnlabeledMovies(input);
  const folder = statSync(input).isDirectory() ? input : dirname(resolve(input));
  const { predictMoviesOnQueue } = await import('../../queue/movies.js');
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  let r;
  try {
    r = await predictMoviesOnQueue(model, read.movies, {
      queue: o.queue!,
      folder,
      threshold,
      shardRows: o.shardRows === undefined ? undefined : Number(o.shardRows),
      signal: controller.signal,
    });
  } catch (err) {
    if (controller.signal.aborted) {
      throw new CliError('interrupted: run the same command again', 'interrupted');
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
  const text = [...read.unreadable, ...r.lines].map((l) => `${JSON.stringify(l)}\n`).join('');
  const toStdout = o.out === undefined || o.out === '-';
  if (toStdout) process.stdout.write(text);
  else writeFileAtomic(o.out!, text);
  const predicted = r.lines.length - r.failed.length;
  process.stderr.write(
    `mmgenre: predicted ${predicted} movie(s) with ${basename(resolve(model))} on ${o.queue!.replace(/\/\/:[^@]*@/, '//:***@')} (thresholds ${threshold ?? DEFAULT_THRESHOLD_POLICY})${toStdout ? '' : ` -> ${o.out}`}\n`,
  );
  const problems = [...read.unreadable, ...r.failed];
  if (problems.length > 0) {
    process.stderr.write(`mmgenre: ${problems.length} movie(s) could not be predicted:\n`);
    for (const p of problems) process.stderr.write(`  ${p.id}: ${p.error}\n`);
    process.exitCode = predicted > 0 ? 1 : 2;
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolveText, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolveText(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function predictDatasetCommand(o: PredictCliOptions, model: string): Promise<void> {
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
  const r = o.queue
    ? await predictOnQueue(o, model, split)
    : await (
        await import('../../predict/index.js')
      ).predictDataset(model, o.data!, { out: o.out, split, cache: o.cache, workers });
  // Name the movies an input was missing for (the first ten), not only how many (the queue path
  // knows counts only).
  const missing = Object.entries(r.missingByInput)
    .filter(([, count]) => count > 0)
    .map(([input, count]) => {
      const movies = r.missingMovies?.[input];
      if (!movies) return `${input} missing for ${count}`;
      const named = movies.slice(0, 10).map((m) => (m.title ? `${m.id} (${m.title})` : m.id));
      const more = movies.length > 10 ? `, ... and ${movies.length - 10} more` : '';
      return `${input} missing for ${count}: ${named.join(', ')}${more}`;
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

async function predictOnQueue(
  o: PredictCliOptions,
  model: string,
  split: SplitName | 'all',
): Promise<PredictDatasetResult> {
  let shardRows: number | undefined;
  if (o.shardRows !== undefined) {
    shardRows = Number(o.shardRows);
    if (!Number.isInteger(shardRows) || shardRows < 1)
      throw new CliError(`--shard-rows must be a positive whole number, got "${o.shardRows}"`);
  }
  const { predictDatasetOnQueue } = await import('../../queue/predict.js');
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await predictDatasetOnQueue(model, o.data!, {
      queue: o.queue!,
      out: o.out!,
      split,
      shardRows,
      signal: controller.signal,
    });
  } catch (err) {
    if (controller.signal.aborted)
      throw new CliError(
        'interrupted: finished shards are kept; run the same command again to continue',
        'interrupted',
      );
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
