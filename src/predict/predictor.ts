/**
 * A trained run, ready to predict from raw inputs: the run's model, its per-input
 * normalisation, thresholds, and one encoder per input built from the same name and options the
 * training features came from (fitted ones included: a sequence model's vocabulary, maxLen and
 * truncation, a TF-IDF vectorizer; created and initialised once, reused for every call). A
 * late-fusion run predicts through its experts' predictors (src/predict/late-scorer.ts).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { checkArgument } from '../util/validate.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initEngine } from '../engine/index.js';
import { DEFAULT_THRESHOLD_POLICY } from '../eval/thresholds.js';
import { defaultModelDir } from './default-model.js';
import { SEQUENCE_ENCODER } from '../features/extract.js';
import { loadBuiltinEncoders, createEncoder, jointGroupOf, jointOptionsOf } from '../features/registry.js';
import { plotSequenceEncoder } from '../features/sequences.js';
import { HDF5_SEQUENCE_ENCODER, hdf5SequenceEncoder } from '../features/hdf5-encoders.js';
import '../models/index.js'; // registers the custom layers (the recurrent encoder) a saved model may use
import { isLateRun } from '../runs/late-run.js';
import type { InputSpec } from '../models/spec.js';
import type { MovieRecord } from '../data/types.js';
import { applyNormalizer } from '../features/normalize.js';
import { loadRun, RUN_FILES, type LoadedRun } from '../runs/run.js';
import { Forward, type ForwardResult, type GateInfo, type InputRows } from './forward.js';
import { loadLateScorer } from './late-scorer.js';
import { runsOnOnnxruntime, ThreadedEncoder } from './threaded-encoder.js';
import { isGiven, MODALITIES, toRecords } from './records.js';
import {
  emptyRows,
  pickRows,
  setRow,
  type PredictorEncoder,
  type PredictorInputInfo,
  type Scorer,
} from './scorer.js';
import {
  NoUsableInputError,
  PredictorError,
  type MissingInput,
  type Prediction,
  type PredictInput,
  type ThresholdKind,
} from './types.js';

export type { PredictorEncoder, PredictorInputInfo } from './scorer.js';
export type { InputRows } from './forward.js';

export interface PredictOptions {
  /** Default: the predictor's (DEFAULT_THRESHOLD_POLICY, 0.5, unless it was loaded with another). */
  threshold?: ThresholdKind;
}

export interface PredictorOptions extends PredictOptions {
  backend?: 'wasm' | 'cpu';
  /**
   * Encoded posters kept in memory, keyed by the SHA-1 of their bytes (default 256; 0: none): a
   * poster sent again (the web page re-predicting after a plot edit) skips decoding and the CNN.
   * Only posters given as bytes: a file on disk may change under the same path.
   */
  posterCacheSize?: number;
  /**
   * Run poster encoders on onnxruntime in a worker thread (default false): onnxruntime holds the
   * calling thread for a whole batch, which a server's event loop cannot afford.
   */
  posterThread?: boolean;
}

export interface Predictor {
  readonly dir: string;
  readonly name: string;
  readonly labels: string[];
  readonly inputs: PredictorInputInfo[];
  /** The run's single model; null for a late fusion (its experts are runs of their own). */
  readonly run: LoadedRun | null;
  readonly spec: Scorer['spec'];
  readonly hasTunedThresholds: boolean;
  readonly threshold: ThresholdKind;
  readonly gate: GateInfo | null;
  /** One prediction per input; throws NoUsableInputError (naming the movie) if one has no usable input. */
  predict(inputs: PredictInput[], opts?: PredictOptions): Promise<Prediction[]>;
  /** Like predict, but a movie with no usable input yields its error in place instead of throwing. */
  predictSettled(
    inputs: PredictInput[],
    opts?: PredictOptions,
  ): Promise<Array<Prediction | NoUsableInputError>>;
  /**
   * Probabilities (and gate) for encoded rows, per input: a raw (un-normalised) row-major matrix,
   * or one token-id sequence per movie for a sequence input; missing rows flagged.
   */
  predictFeatures(x: InputRows[], missing: Uint8Array[], n: number): ForwardResult;
  /** The predictions file's `gate` field for row `r` of a forward pass (GMU: the poster's share). */
  gateField(shares: Float32Array, r: number): number | Record<string, number> | undefined;
  /** Per-genre thresholds of a kind, in label order. */
  thresholdValues(kind?: ThresholdKind): number[];
  /** The encoders, in input order (already initialised). */
  readonly encoders: readonly PredictorEncoder[];
  dispose(): void;
}

/** One input's encoder, built from the run's recorded encoder name and (fitted) options. */
async function encoderFor(runDir: string, input: InputSpec): Promise<PredictorEncoder> {
  const { source } = input;
  if (source.kind === 'sequence') {
    // The file's own token ids: readable only for movies of an HDF5 file (predict --data FILE.hdf5).
    if (source.encoder === HDF5_SEQUENCE_ENCODER)
      return hdf5SequenceEncoder({ maxLen: input.shape[0], ...(source.options ?? {}) });
    if (source.encoder !== SEQUENCE_ENCODER) {
      throw new PredictorError(
        `run ${runDir}: input '${input.id}' reads sequences from '${source.encoder}'; only '${SEQUENCE_ENCODER}' can be encoded from raw inputs`,
      );
    }
    // The model was built with maxLen = the input's length unless the options say otherwise.
    const enc = plotSequenceEncoder({ maxLen: input.shape[0], ...(source.options ?? {}) });
    await enc.init();
    return enc;
  }
  if (input.shape.length !== 1) {
    throw new PredictorError(
      `run ${runDir}: input '${input.id}' has shape [${input.shape}]; predicting from raw inputs needs flat feature inputs`,
    );
  }
  const enc = createEncoder(source.encoder, source.options);
  try {
    await enc.init();
    // An encoder that learns its width from the data (an HDF5 file's rows) is checked when it reads them.
    const widthFromData = enc.bindRecords !== undefined;
    if (!widthFromData && enc.dim !== input.shape[0]) {
      throw new PredictorError(
        `input '${input.id}': encoder '${enc.name}' gives ${enc.dim} values but the model was trained on ${input.shape[0]}`,
      );
    }
  } catch (err) {
    enc.dispose();
    throw err;
  }
  return enc;
}

/**
 * The encoders of a run's inputs, in input order. Poster inputs that read layers of one network
 * (the shipped GMU's pooled and block_15_add features: see EncoderFactory.jointGroup) share one
 * encoder that decodes each poster and runs the network once for all of them, as feature
 * extraction does; each such input gets its part of the joint row.
 */
async function encodersFor(
  runDir: string,
  inputs: InputSpec[],
  threaded: boolean,
): Promise<PredictorEncoder[]> {
  const groups = new Map<string, number[]>();
  inputs.forEach((input, k) => {
    const { source } = input;
    const joint =
      source.kind !== 'sequence' && input.shape.length === 1
        ? jointGroupOf(source.encoder, source.options ?? {})
        : null;
    const key = joint === null ? `#${k}` : JSON.stringify([source.encoder, joint]);
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  const out: PredictorEncoder[] = [];
  try {
    for (const members of groups.values()) {
      const { source, modality } = inputs[members[0]];
      const inThread =
        threaded && modality === 'poster' && source.kind !== 'sequence' && runsOnOnnxruntime(source.encoder);
      if (members.length === 1 && !inThread) {
        out[members[0]] = await encoderFor(runDir, inputs[members[0]]);
        continue;
      }
      const name = source.encoder;
      const options =
        members.length === 1
          ? (source.options ?? {})
          : jointOptionsOf(
              name,
              members.map((k) => inputs[k].source.options ?? {}),
            );
      const enc = inThread ? new ThreadedEncoder(name, options) : createEncoder(name, options);
      const widths = members.map((k) => inputs[k].shape[0]);
      try {
        await enc.init();
        const want = widths.reduce((a, b) => a + b, 0);
        if (enc.dim !== want) {
          throw new PredictorError(
            `inputs ${members.map((k) => `'${inputs[k].id}'`).join(', ')}: encoder '${name}' gives ${enc.dim} values but the model was trained on ${want}`,
          );
        }
      } catch (err) {
        enc.dispose();
        throw err;
      }
      if (members.length === 1) out[members[0]] = enc;
      else jointParts(enc, widths).forEach((part, j) => (out[members[j]] = part));
    }
  } catch (err) {
    out.forEach((e) => e?.dispose());
    throw err;
  }
  return out;
}

/**
 * One encoder's joint rows cut into parts, one per input: the parts of one call (the same
 * records) share a single encode, remembered until the next call.
 */
function jointParts(encoder: PredictorEncoder, widths: number[]): PredictorEncoder[] {
  let last: { records: MovieRecord[]; rows: ReturnType<PredictorEncoder['encode']> } | null = null;
  let open = widths.length;
  const sameRecords = (a: MovieRecord[], b: MovieRecord[]) =>
    a.length === b.length && a.every((r, i) => r === b[i]);
  let offset = 0;
  return widths.map((width) => {
    const from = offset;
    offset += width;
    return {
      name: encoder.name,
      async encode(records: MovieRecord[]) {
        if (!last || !sameRecords(last.records, records)) last = { records, rows: encoder.encode(records) };
        return (await last.rows).map((v) => (v instanceof Float32Array ? v.slice(from, from + width) : v));
      },
      dispose() {
        last = null;
        if (--open === 0) encoder.dispose();
      },
    };
  });
}

/** A run with one saved tfjs model. */
async function loadModelScorer(runDir: string, threaded = false): Promise<Scorer> {
  const run = await loadRun(runDir);
  const { spec } = run;
  await loadBuiltinEncoders();
  let encoders: PredictorEncoder[];
  try {
    encoders = await encodersFor(run.dir, spec.inputs, threaded);
  } catch (err) {
    run.model.dispose();
    throw err;
  }
  const inputs: PredictorInputInfo[] = spec.inputs.map((i) => ({
    id: i.id,
    modality: i.modality,
    encoder: i.source.encoder,
    kind: i.source.kind === 'sequence' ? 'sequence' : 'features',
    dim: i.shape[0],
    source: i.source,
  }));
  const dims = inputs.map((i) => i.dim);
  const forward = new Forward(run.model, spec);
  return {
    dir: run.dir,
    name: run.info.name,
    labels: run.labels,
    spec,
    run,
    tuned: existsSync(join(run.dir, RUN_FILES.thresholds)) ? [...run.thresholds] : null,
    inputs,
    encoders,
    forward(x, missing, n) {
      // Dense inputs get the run's normalisation (sequences have none); the model does the rest.
      const xs = x.map((m, k) =>
        m instanceof Float32Array
          ? applyNormalizer(run.normalizers[k], Float32Array.from(m), dims[k], missing[k])
          : m,
      );
      return forward.run(xs, n, dims);
    },
    explain: forward,
    gate: forward.gate,
    dispose() {
      encoders.forEach((e) => e.dispose());
      run.model.dispose();
    },
  };
}

/** One movie's inputs as the library takes them (checked before any file is written). */
const predictInputSchema = z.looseObject({
  poster: z.union([z.string(), z.instanceof(Uint8Array), z.null()]).optional(),
  plot: z.union([z.string(), z.null()]).optional(),
  title: z.union([z.string(), z.null()]).optional(),
  companies: z.array(z.string()).optional(),
});
const predictOptionsSchema = z.looseObject({
  threshold: z.enum(['0.5', 'tuned']).optional(),
});

/**
 * Load a finished run for prediction (model, normalisers, thresholds, encoders). Without a run,
 * the model shipped with the package (models/default, see its MODEL_CARD.md):
 * `const clf = await loadPredictor(); await clf.predict([{ poster, plot }])`.
 */
export async function loadPredictor(runDir?: string, opts: PredictorOptions = {}): Promise<Predictor> {
  checkArgument(z.string().min(1).optional(), runDir, 'loadPredictor(runDir)');
  checkArgument(
    predictOptionsSchema.extend({
      backend: z.enum(['wasm', 'cpu']).optional(),
      posterCacheSize: z.number().int().nonnegative().optional(),
      posterThread: z.boolean().optional(),
    }),
    opts ?? {},
    'loadPredictor(runDir, options)',
  );
  await initEngine({ backend: opts.backend });
  const dir = resolve(runDir ?? defaultModelDir());
  const scorer = isLateRun(dir)
    ? await loadLateScorer(dir, (d) => loadPredictor(d, { backend: opts.backend, threshold: '0.5' }))
    : await loadModelScorer(dir, opts.posterThread);
  try {
    return predictorOf(scorer, opts);
  } catch (err) {
    scorer.dispose();
    throw err;
  }
}

function predictorOf(scorer: Scorer, opts: PredictorOptions): Predictor {
  const { labels, inputs, encoders } = scorer;
  const hasTunedThresholds = scorer.tuned !== null;
  const defaultKind: ThresholdKind = opts.threshold ?? DEFAULT_THRESHOLD_POLICY;
  if (defaultKind === 'tuned' && !hasTunedThresholds) {
    throw new PredictorError(`run ${scorer.dir} has no ${RUN_FILES.thresholds}: use the 0.5 threshold`);
  }
  const dims = inputs.map((i) => i.dim);
  const L = labels.length;
  const posterCache = new Map<string, Float32Array | Int32Array>();
  const posterCacheSize = opts.posterCacheSize ?? 256;
  const posterInputs = inputs.flatMap((info, k) => (info.modality === 'poster' ? [k] : []));
  /** The cache key of an item's poster bytes, or null (no bytes, or caching off). */
  const posterKey = (item: PredictInput): string | null =>
    posterCacheSize > 0 && Buffer.isBuffer(item.poster) && item.poster.length > 0
      ? createHash('sha1').update(item.poster).digest('hex')
      : null;
  const remember = (key: string, row: Float32Array | Int32Array): void => {
    posterCache.delete(key);
    posterCache.set(key, row);
    if (posterCache.size > posterCacheSize) posterCache.delete(posterCache.keys().next().value as string);
  };

  const thresholdValues = (kind: ThresholdKind = defaultKind): number[] => {
    if (kind === 'tuned' && !scorer.tuned) {
      throw new PredictorError(`run ${scorer.dir} has no tuned thresholds (${RUN_FILES.thresholds})`);
    }
    return kind === 'tuned' ? [...scorer.tuned!] : labels.map(() => 0.5);
  };

  const predictFeatures = (x: InputRows[], missing: Uint8Array[], n: number): ForwardResult =>
    scorer.forward(x, missing, n);

  const predictSettled = async (
    items: PredictInput[],
    o: PredictOptions = {},
  ): Promise<Array<Prediction | NoUsableInputError>> => {
    checkArgument(z.array(predictInputSchema), items, 'predict(inputs)');
    checkArgument(predictOptionsSchema, o ?? {}, 'predict(inputs, options)');
    const kind = o.threshold ?? defaultKind;
    const thr = thresholdValues(kind);
    const n = items.length;
    // Posters already encoded by every poster input need no temporary file nor encoder call.
    const keys = posterInputs.length ? items.map(posterKey) : items.map(() => null);
    const cached = (k: number, r: number) => (keys[r] ? posterCache.get(`${k}:${keys[r]}`) : undefined);
    const allCached = (r: number) => posterInputs.every((k) => cached(k, r) !== undefined);
    const { records, cleanup, clean } = toRecords(
      items.map((item, r) => (keys[r] && allCached(r) ? { ...item, poster: undefined } : item)),
    );
    const x = inputs.map((info) => emptyRows(info, n));
    const missing = dims.map(() => new Uint8Array(n));
    const reasons: MissingInput[][] = items.map(() => []);
    try {
      for (let k = 0; k < inputs.length; k++) {
        const { id, modality } = inputs[k];
        const todo: number[] = [];
        items.forEach((item, r) => {
          if (isGiven(item, modality)) todo.push(r);
          else {
            missing[k][r] = 1;
            reasons[r].push({ input: id, reason: `no ${modality} given` });
          }
        });
        const hits = todo.filter((r) => cached(k, r) !== undefined);
        for (const r of hits) setRow(x[k], dims[k], r, cached(k, r)!);
        const misses = hits.length ? todo.filter((r) => cached(k, r) === undefined) : todo;
        if (misses.length === 0) continue;
        const encoded = await encoders[k].encode(misses.map((r) => records[r]));
        encoded.forEach((v, j) => {
          const r = misses[j];
          if (v instanceof Float32Array || v instanceof Int32Array) {
            setRow(x[k], dims[k], r, v);
            if (keys[r] && inputs[k].modality === 'poster') remember(`${k}:${keys[r]}`, v.slice());
          } else {
            missing[k][r] = 1;
            reasons[r].push({ input: id, reason: clean(v.error) });
          }
        });
      }
    } finally {
      cleanup();
    }
    // Only movies with at least one usable input go through the model.
    const usable = items.map((_, r) => missing.some((m) => !m[r]));
    const rows = usable.flatMap((ok, r) => (ok ? [r] : []));
    const out: Array<Prediction | NoUsableInputError> = items.map(
      (_, r) =>
        new NoUsableInputError(
          `no usable input: ${reasons[r].map((m) => `${m.input}: ${m.reason}`).join('; ')}`,
          reasons[r],
        ),
    );
    if (rows.length === 0) return out;
    const result = predictFeatures(
      x.map((m, k) => pickRows(m, dims[k], rows)),
      missing.map((m) => Uint8Array.from(rows, (r) => m[r])),
      rows.length,
    );
    const values: Record<string, number> = {};
    labels.forEach((l, j) => (values[l] = thr[j]));
    rows.forEach((r, j) => {
      const scores: Record<string, number> = {};
      const above: Array<[string, number]> = [];
      for (let c = 0; c < L; c++) {
        const p = result.probs[j * L + c];
        scores[labels[c]] = p;
        if (p >= thr[c]) above.push([labels[c], p]);
      }
      above.sort((a, b) => b[1] - a[1]);
      const given = new Set(MODALITIES.filter((m) => isGiven(items[r], m)));
      const prediction: Prediction = {
        scores,
        genres: above.map(([g]) => g),
        thresholds: { kind, values },
        inputsUsed: inputs.filter((_, k) => !missing[k][r]).map((i) => i.id),
        inputsMissing: reasons[r],
        inputsIgnored: [...given].filter((m) => !inputs.some((i) => i.modality === m)),
      };
      if (result.shares) prediction.contributions = scorer.explain?.contributions(result.shares, j);
      if (result.genreParts)
        prediction.genreContributions = scorer.explain?.genreContributions(result.genreParts, j, labels);
      out[r] = prediction;
    });
    return out;
  };

  return {
    dir: scorer.dir,
    name: scorer.name,
    labels,
    inputs,
    run: scorer.run,
    spec: scorer.spec,
    hasTunedThresholds,
    threshold: defaultKind,
    gate: scorer.gate,
    encoders,
    thresholdValues,
    predictFeatures,
    gateField: (shares, r) => scorer.explain?.gateField(shares, r),
    predictSettled,
    async predict(items, o) {
      const settled = await predictSettled(items, o);
      settled.forEach((p, r) => {
        if (p instanceof NoUsableInputError) {
          throw new NoUsableInputError(
            items.length === 1 ? p.message : `movie ${r + 1} of ${items.length}: ${p.message}`,
            p.missing,
          );
        }
      });
      return settled as Prediction[];
    },
    dispose: () => scorer.dispose(),
  };
}
