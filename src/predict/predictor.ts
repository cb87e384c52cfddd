/**
 * A trained run, ready to predict from raw inputs: the run's model, its per-input
 * normalisation, thresholds, and one encoder per input built from the same name and options the
 * training features came from (created and initialised once, reused for every call).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initEngine } from '../engine/index.js';
import { loadBuiltinEncoders, createEncoder } from '../features/registry.js';
import type { Encoder } from '../features/types.js';
import { applyNormalizer } from '../train/data.js';
import { loadRun, RUN_FILES, type LoadedRun } from '../train/run.js';
import { Forward, type ForwardResult, type GateInfo } from './gate.js';
import { isGiven, MODALITIES, toRecords } from './records.js';
import {
  NoUsableInputError,
  PredictorError,
  type MissingInput,
  type Prediction,
  type PredictInput,
  type ThresholdKind,
} from './types.js';

export interface PredictorInputInfo {
  id: string;
  modality: 'poster' | 'plot' | 'title' | 'companies';
  encoder: string;
  dim: number;
}

export interface PredictOptions {
  /** Default: the predictor's (tuned when the run has thresholds.json, else 0.5). */
  threshold?: ThresholdKind;
}

export interface PredictorOptions extends PredictOptions {
  backend?: 'wasm' | 'cpu';
}

export interface Predictor {
  readonly dir: string;
  readonly name: string;
  readonly labels: string[];
  readonly inputs: PredictorInputInfo[];
  readonly run: LoadedRun;
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
  /** Probabilities (and gate) for raw feature rows, one row-major matrix per input; missing rows flagged. */
  predictFeatures(x: Float32Array[], missing: Uint8Array[], n: number): ForwardResult;
  /** The predictions file's `gate` field for row `r` of a forward pass (GMU: the poster's share). */
  gateField(shares: Float32Array, r: number): number | Record<string, number> | undefined;
  /** Per-genre thresholds of a kind, in label order. */
  thresholdValues(kind?: ThresholdKind): number[];
  /** The encoders, in input order (already initialised). */
  readonly encoders: readonly Encoder[];
  dispose(): void;
}

/** Load a finished run for prediction (model, normalisers, thresholds, encoders). */
export async function loadPredictor(runDir: string, opts: PredictorOptions = {}): Promise<Predictor> {
  await initEngine({ backend: opts.backend });
  const run = await loadRun(runDir);
  const { spec, labels } = run;
  for (const i of spec.inputs) {
    if (i.source.kind !== 'features' || i.shape.length !== 1) {
      throw new PredictorError(
        `run ${run.dir}: input '${i.id}' reads ${i.source.kind} of shape [${i.shape}] from '${i.source.encoder}'; ` +
          'predicting from raw inputs supports flat feature inputs only',
      );
    }
  }
  const hasTunedThresholds = existsSync(join(run.dir, RUN_FILES.thresholds));
  const defaultKind: ThresholdKind = opts.threshold ?? (hasTunedThresholds ? 'tuned' : '0.5');
  if (defaultKind === 'tuned' && !hasTunedThresholds) {
    throw new PredictorError(`run ${run.dir} has no ${RUN_FILES.thresholds}: use the 0.5 threshold`);
  }
  await loadBuiltinEncoders();
  const encoders: Encoder[] = [];
  try {
    for (const i of spec.inputs) {
      const enc = createEncoder(i.source.encoder, i.source.options);
      encoders.push(enc);
      await enc.init();
      if (enc.dim !== i.shape[0]) {
        throw new PredictorError(
          `input '${i.id}': encoder '${enc.name}' gives ${enc.dim} values but the model was trained on ${i.shape[0]}`,
        );
      }
    }
  } catch (err) {
    encoders.forEach((e) => e.dispose());
    run.model.dispose();
    throw err;
  }
  const inputs: PredictorInputInfo[] = spec.inputs.map((i) => ({
    id: i.id,
    modality: i.modality,
    encoder: i.source.encoder,
    dim: i.shape[0],
  }));
  const dims = inputs.map((i) => i.dim);
  const forward = new Forward(run.model, spec);
  const L = labels.length;

  const thresholdValues = (kind: ThresholdKind = defaultKind): number[] => {
    if (kind === 'tuned' && !hasTunedThresholds) {
      throw new PredictorError(`run ${run.dir} has no tuned thresholds (${RUN_FILES.thresholds})`);
    }
    return kind === 'tuned' ? [...run.thresholds] : labels.map(() => 0.5);
  };

  const predictFeatures = (x: Float32Array[], missing: Uint8Array[], n: number): ForwardResult => {
    const xs = x.map((m, k) =>
      applyNormalizer(run.normalizers[k], Float32Array.from(m), dims[k], missing[k]),
    );
    return forward.run(xs, n, dims);
  };

  const predictSettled = async (
    items: PredictInput[],
    o: PredictOptions = {},
  ): Promise<Array<Prediction | NoUsableInputError>> => {
    const kind = o.threshold ?? defaultKind;
    const thr = thresholdValues(kind);
    const n = items.length;
    const { records, cleanup, clean } = toRecords(items);
    const x = dims.map((d) => new Float32Array(n * d));
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
        if (todo.length === 0) continue;
        const encoded = await encoders[k].encode(todo.map((r) => records[r]));
        encoded.forEach((v, j) => {
          const r = todo[j];
          if (v instanceof Float32Array) x[k].set(v, r * dims[k]);
          else {
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
    const pick = (m: Float32Array, d: number): Float32Array => {
      const o2 = new Float32Array(rows.length * d);
      rows.forEach((r, j) => o2.set(m.subarray(r * d, (r + 1) * d), j * d));
      return o2;
    };
    const result = predictFeatures(
      x.map((m, k) => pick(m, dims[k])),
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
      if (result.shares) prediction.contributions = forward.contributions(result.shares, j);
      if (result.genreParts)
        prediction.genreContributions = forward.genreContributions(result.genreParts, j, labels);
      out[r] = prediction;
    });
    return out;
  };

  return {
    dir: run.dir,
    name: run.info.name,
    labels,
    inputs,
    run,
    hasTunedThresholds,
    threshold: defaultKind,
    gate: forward.gate,
    encoders,
    thresholdValues,
    predictFeatures,
    gateField: (shares, r) => forward.gateField(shares, r),
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
    dispose() {
      encoders.forEach((e) => e.dispose());
      run.model.dispose();
    },
  };
}
