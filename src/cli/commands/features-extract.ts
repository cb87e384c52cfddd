import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { FRESHNESS_HELP, freshnessArg } from '../options.js';
import { MmgenreError } from '../../util/errors.js';
import { group } from './index.js';

interface ExtractFlags {
  data: string;
  encoder: string;
  layer?: string;
  flip?: boolean;
  opt: string[];
  workers?: number;
  cache?: string;
  dtype: string;
  batchSize?: number;
  chunkRows?: number;
  json?: boolean;
  queue?: string;
  shardRows?: number;
  freshness?: 'stat' | 'content';
}

function intArg(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new CliError(`--${name} must be an integer ≥ ${min}, got '${v}'`);
    return n;
  };
}

/** `--opt key=value`: value parsed as JSON when it is JSON (numbers, booleans), else kept as text. */
function parseOpt(v: string, acc: string[]): string[] {
  if (!/^[A-Za-z_][\w-]*=/.test(v)) throw new CliError(`--opt expects key=value, got '${v}'`);
  return [...acc, v];
}

function encoderOptions(f: ExtractFlags): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const kv of f.opt) {
    const i = kv.indexOf('=');
    const raw = kv.slice(i + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // plain text value
    }
    options[kv.slice(0, i)] = value;
  }
  if (f.layer !== undefined) options.layer = f.layer;
  if (f.flip) options.flip = true;
  return options;
}

/** `mmgenre features extract`: fill the feature cache for a dataset and an encoder (resumable). */
export function register(program: Command): void {
  group(program, 'features', 'the feature cache: extract encoder features once, list what is cached')
    .command('extract')
    .description(
      'compute an encoder’s features for every movie of a dataset into the cache (only what is missing; ' +
        'resumable after any interruption). Encoders: mobilenet_v2, mobilenet_v2_mid, inception_v3, onnx, ' +
        'glove-mean, ... and plot-sequences (token ids for the recurrent models)',
    )
    .requiredOption('--data <dir>', 'dataset folder or file (MM-IMDB folder, TMDB csv, MM-IMDB hdf5)')
    .requiredOption('--encoder <name>', 'encoder name')
    .option('--layer <name>', 'cache this intermediate layer’s activation (poster CNNs)')
    .option('--flip', 'encode the horizontally mirrored poster')
    .option('--opt <key=value>', 'any other encoder option (repeatable)', parseOpt, [])
    .option('--workers <n>', 'worker threads (default: every core; 0 = this thread)', intArg('workers', 0))
    .option('--cache <dir>', 'cache directory (default: $MMGENRE_CACHE_DIR or ~/.cache/mmgenre)')
    .option('--dtype <type>', 'float32 or float16', 'float32')
    .option(
      '--batch-size <n>',
      'records per encoder call (fixed once an entry is started)',
      intArg('batch-size', 1),
    )
    .option(
      '--chunk-rows <n>',
      'rows per chunk, the unit of resumption (fixed once started)',
      intArg('chunk-rows', 1),
    )
    .option('--json', 'print the summary as JSON')
    .option('--queue <url>', 'compute on queue workers (mmgenre worker): redis://HOST:PORT/DB or rediss://…')
    .option('--shard-rows <n>', 'with --queue: movies per job (default 256)', intArg('shard-rows', 1))
    .option('--freshness <mode>', FRESHNESS_HELP, freshnessArg)
    .action(async (f: ExtractFlags) => {
      if (f.dtype !== 'float32' && f.dtype !== 'float16') {
        throw new CliError(`--dtype must be float32 or float16, got '${f.dtype}'`);
      }
      const { loadDataset, DatasetFormatError } = await import('../../data/load.js');
      const features = await import('../../features/extract.js');
      const { formatExtractReport } = await import('../../features/summary.js');
      let dataset;
      try {
        dataset = await loadDataset(f.data);
      } catch (err) {
        if (err instanceof DatasetFormatError) throw new CliError(err.message);
        throw err;
      }
      const controller = new AbortController();
      const onSigint = (): void => controller.abort();
      process.once('SIGINT', onSigint);
      const common = {
        workers: f.workers,
        cacheDir: f.cache,
        batchSize: f.batchSize,
        chunkRows: f.chunkRows,
        freshness: f.freshness,
        signal: controller.signal,
        progress: !f.json,
        runner: f.queue
          ? (await import('../../queue/features.js')).queueChunkRunner({
              queue: f.queue,
              shardRows: f.shardRows,
            })
          : undefined,
      };
      const options = encoderOptions(f);
      try {
        const report =
          f.encoder === features.SEQUENCE_ENCODER
            ? (
                await features.extractSequencesWithReport(dataset, {
                  ...common,
                  encoder: { name: f.encoder, options },
                })
              ).report
            : (
                await features.extractFeaturesWithReport(
                  dataset,
                  { name: f.encoder, options },
                  { ...common, dtype: f.dtype },
                )
              ).report;
        process.stdout.write(
          f.json ? JSON.stringify(report, null, 2) + '\n' : formatExtractReport(report, dataset.name),
        );
      } catch (err) {
        if (err instanceof MmgenreError) throw err;
        if (controller.signal.aborted) {
          throw new CliError(
            'interrupted: finished chunks are kept; run the same command again to continue',
            'interrupted',
          );
        }
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
