/**
 * The trainer: Adam on sigmoid cross-entropy (optionally with per-genre positive weights),
 * dropout, early stopping on dev macro-F1 (the paper's selection criterion), the best epoch's
 * weights kept, a checkpoint after every epoch, and `resume` from it.
 *
 * A custom loop rather than `model.fit`/`trainOnBatch`: it needs no GPU→CPU read per batch
 * (the loss is summed on the device and read once per epoch), it controls every source of
 * randomness (init, shuffling, dropout: same seed → same numbers, also across a resume), and
 * its state (epoch, RNG, Adam moments) can be saved and restored exactly.
 */
import { join } from 'node:path';
import { tf, initEngine } from '../engine/index.js';
import { FusedAdam } from '../engine/fused-adam.js';
import { evaluate } from '../eval/metrics.js';
import { buildModel, type BuiltModel, type LayersModel } from '../models/build.js';
import { prepareWithSources } from '../runs/source-layer.js';
import { SeededRandom, subSeed } from '../util/random.js';
import type { LayerNode, ModelSpec } from '../models/spec.js';
import { writeFileAtomic } from '../util/atomic.js';
import { progress as progressBar } from '../util/progress.js';
import { readCheckpoint, writeCheckpoint, CheckpointError, type StoredTensor } from './checkpoint.js';
import type { TrainingSettings } from '../runs/config.js';
import { rowsOf, type SplitData, type TrainingData } from './data.js';
import { batchInputs, epochBatches, inferenceBatches } from './batches.js';
import { batchStepFor, type OptimizerGroup } from './batch-step.js';

export const CHECKPOINT_FILE = 'checkpoint.bin';
export const METRICS_FILE = 'metrics.jsonl';

export interface EpochMetrics {
  epoch: number;
  /** Mean training loss over the epoch's batches (with dropout, as optimised). */
  loss: number;
  devMacroF1: number;
  devMicroF1: number;
  devSamplesF1: number;
  devWeightedF1: number;
  /** Seconds of the training pass alone (no dev evaluation, no checkpoint). */
  trainSeconds: number;
  seconds: number;
  best: boolean;
}

export type StopReason = 'completed' | 'early-stopped' | 'interrupted';

export interface FitOptions {
  settings: TrainingSettings;
  /** Where checkpoint.bin and metrics.jsonl go; without it nothing is written. */
  dir?: string;
  /** Continue from `dir`'s checkpoint (fresh start when there is none). */
  resume?: boolean;
  /** Abort: the epoch in progress finishes, is checkpointed, and training stops. */
  signal?: AbortSignal;
  /** Progress bar label; no bar when false. */
  progress?: string | false;
  onEpoch?(m: EpochMetrics): void;
  /** Stop (as if interrupted) after this many epochs of this call: for tests and benchmarks. */
  maxEpochsThisCall?: number;
  backend?: 'wasm' | 'cpu';
}

export interface FitResult {
  /** The model holding the best epoch's weights. */
  built: BuiltModel;
  bestEpoch: number;
  bestDevMacroF1: number;
  history: EpochMetrics[];
  stopReason: StopReason;
  /** Epochs already done when this call started (0 unless resumed). */
  resumedFrom: number;
  /** What computed the gradients (absent for runs that train nothing by gradient). */
  engine?: 'onnx' | 'tfjs';
}

/** MMBT-style pos_weight per genre: negatives / positives on the training split (1 when no positive). */
export function balancedPosWeights(y: Uint8Array, n: number, L: number, cap?: number): Float32Array {
  const w = new Float32Array(L);
  for (let j = 0; j < L; j++) {
    let pos = 0;
    for (let i = 0; i < n; i++) pos += y[i * L + j];
    const v = pos === 0 ? 1 : (n - pos) / pos;
    w[j] = cap === undefined ? v : Math.min(v, cap);
  }
  return w;
}

/** What must not change between a run and its resume. */
function fingerprint(spec: ModelSpec, s: TrainingSettings, data: TrainingData): string {
  // The engine computes the same gradients (to float rounding): a run may resume on the other.
  const { epochs: _epochs, patience: _patience, engine: _engine, ...rest } = s;
  return JSON.stringify({ spec, settings: rest, nTrain: data.train.n, nDev: data.dev.n, dims: data.dims });
}

function readWeights(model: LayersModel): StoredTensor[] {
  return model.weights.map((w) => {
    const v = w.read();
    return { shape: v.shape, values: v.dataSync() as Float32Array };
  });
}

function writeWeights(model: LayersModel, stored: StoredTensor[]): void {
  if (stored.length !== model.weights.length) {
    throw new CheckpointError(`checkpoint has ${stored.length} weights, the model ${model.weights.length}`);
  }
  tf.tidy(() => model.setWeights(stored.map((t) => tf.tensor(t.values, t.shape))));
}

/** Probabilities for every row of a split (inference mode, batched), row-major n × L. */
export function predictSplit(
  model: LayersModel,
  split: SplitData,
  dims: number[],
  batchSize = 512,
): Float32Array {
  const L = (model.outputs[0].shape[1] as number) ?? 0;
  const out = new Float32Array(split.n * L);
  for (const rows of inferenceBatches(split, batchSize)) {
    const probs = tf.tidy(() => {
      const xs = batchInputs(split, dims, rows);
      return model.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
    });
    const values = probs.dataSync() as Float32Array;
    rows.forEach((r, b) => out.set(values.subarray(b * L, (b + 1) * L), r * L));
    probs.dispose();
  }
  return out;
}

/** Permute rows of a row-major matrix. */
function permuteRows<T extends Float32Array | Uint8Array>(src: T, dim: number, perm: Uint32Array, out: T): T {
  for (let r = 0; r < perm.length; r++) out.set(src.subarray(perm[r] * dim, (perm[r] + 1) * dim), r * dim);
  return out;
}

/**
 * Modality dropout on permuted rows: with probability `p`, zero one of a row's present inputs
 * (never the last one), which the fusions read as that modality missing.
 */
export function dropModalities(
  x: Float32Array[],
  dims: number[],
  perm: Uint32Array,
  missing: Uint8Array[],
  p: number,
  rng: SeededRandom,
): void {
  for (let r = 0; r < perm.length; r++) {
    const present: number[] = [];
    for (let k = 0; k < x.length; k++) if (!missing[k]?.[perm[r]]) present.push(k);
    if (present.length < 2 || rng.next() >= p) continue;
    const k = present[Math.floor(rng.next() * present.length)];
    x[k].fill(0, r * dims[k], (r + 1) * dims[k]);
  }
}

/**
 * Trainable weights grouped by their node's learning-rate multiplier (LayerNode.lrScale), one
 * Adam per group: Adam's steps do not depend on the gradient's scale, so a lower rate for
 * pretrained layers needs its own optimizer. Layer names start with their node id (ops contract).
 * Kernels (not biases) get the decoupled weight decay, 1 − lr·wd·decayScale per step whatever the
 * group (LayerNode.decayScale, default 1).
 */
function optimizerGroups(
  spec: ModelSpec,
  model: LayersModel,
  lr: number,
  weightDecay: number,
): OptimizerGroup[] {
  const nodes = [...spec.nodes].sort((a, b) => b.id.length - a.id.length);
  const nodeOf = (weightName: string): LayerNode | undefined => {
    const layer = weightName.split('/')[0];
    return nodes.find((n) => layer.startsWith(n.id));
  };
  const decay = new Map<string, number>();
  const grouped: Array<{ lrScale: number; vars: tf.Variable[] }> = [];
  for (const w of model.trainableWeights) {
    const node = nodeOf(w.originalName);
    const lrScale = node?.lrScale ?? 1;
    let g = grouped.find((x) => x.lrScale === lrScale);
    if (!g) grouped.push((g = { lrScale, vars: [] }));
    const variable = w.read() as tf.Variable;
    g.vars.push(variable);
    const wd = weightDecay * (node?.decayScale ?? 1);
    if (wd > 0 && /kernel/.test(w.originalName)) decay.set(variable.name, 1 - lr * wd);
  }
  return grouped.map((g) => ({
    ...g,
    optimizer: new FusedAdam(g.vars, { learningRate: lr * g.lrScale, decay }),
  }));
}

/** Train `spec` on `data.train`, selecting the epoch by dev macro-F1. */
export async function fit(spec: ModelSpec, data: TrainingData, opts: FitOptions): Promise<FitResult> {
  await initEngine({ backend: opts.backend });
  const s = opts.settings;
  const L = data.labels.length;
  const { train, dev, dims } = data;
  if (train.n === 0) throw new Error('no training examples');
  if (dev.n === 0) throw new Error('no dev examples: early stopping and model selection need a dev split');
  await prepareWithSources(spec);
  const built = buildModel(spec, { seed: s.seed });
  const { model, logitsModel } = built;
  const groups = optimizerGroups(spec, logitsModel, s.lr, s.weightDecay);
  const shuffleRng = new SeededRandom(subSeed(s.seed, 'shuffle'));
  const dropoutRng = new SeededRandom(subSeed(s.seed, 'dropout'));
  const fp = fingerprint(spec, s, data);
  const ckptPath = opts.dir ? join(opts.dir, CHECKPOINT_FILE) : null;

  let history: EpochMetrics[] = [];
  let best: { epoch: number; score: number } | null = null;
  let bestWeights: StoredTensor[] = readWeights(model);
  let sinceBest = 0;
  let startEpoch = 0;
  let stopReason: StopReason = 'completed';
  if (opts.resume && ckptPath) {
    const ckpt = readCheckpoint(ckptPath);
    if (ckpt) {
      if (ckpt.state.fingerprint !== fp) {
        throw new CheckpointError(
          `${ckptPath} was written for another model, settings or data; start afresh without --resume (or use another --out)`,
        );
      }
      writeWeights(model, ckpt.weights);
      // Each group's Adam state: its iteration count, two moments per variable, then β1^t, β2^t.
      let at = 0;
      for (const g of groups) {
        const part = ckpt.optimizer.slice(at, (at += 2 + 2 * g.vars.length));
        g.optimizer.importState(part);
      }
      shuffleRng.state = ckpt.state.rng.shuffle;
      dropoutRng.state = ckpt.state.rng.dropout;
      best = ckpt.state.best;
      sinceBest = ckpt.state.sinceBest;
      history = ckpt.state.history as EpochMetrics[];
      bestWeights = ckpt.bestWeights;
      startEpoch = ckpt.state.epoch;
      if (ckpt.state.stopReason === 'early-stopped') {
        startEpoch = s.epochs; // nothing left to do
        stopReason = 'early-stopped';
      }
    }
  }

  const posWeightValues =
    s.classWeights === 'balanced' ? balancedPosWeights(train.y, train.n, L, s.maxPosWeight) : null;
  const stepper = await batchStepFor({
    spec,
    logitsModel,
    groups,
    settings: s,
    posWeight: posWeightValues,
    batchesPerEpoch: Math.ceil(train.n / s.batchSize),
    dims,
    labels: L,
    dropoutRng,
  });

  const bar =
    opts.progress === false
      ? null
      : progressBar(opts.progress ?? `train ${spec.title}`, s.epochs, { unit: 'epoch' });
  bar?.tick(Math.min(startEpoch, s.epochs));
  let epochsThisCall = 0;
  const xPerm = train.x.map((x) => new Float32Array(x.length));
  const yPerm = new Uint8Array(train.y.length);
  const devRowsTrue = rowsOf(dev.y, dev.n, L);
  for (let epoch = startEpoch; epoch < s.epochs; epoch++) {
    const t0 = performance.now();
    const perm = shuffleRng.permutation(train.n);
    train.x.forEach((x, k) => {
      if (!train.seq?.[k]) permuteRows(x, dims[k], perm, xPerm[k]);
    });
    if (s.modalityDropout > 0 && train.x.length > 1) {
      // A stream per epoch (not a saved RNG state), so a resumed run drops the same inputs.
      dropModalities(
        xPerm,
        dims,
        perm,
        train.missing,
        s.modalityDropout,
        new SeededRandom(subSeed(s.seed, `modality-dropout-${epoch}`)),
      );
    }
    permuteRows(train.y, L, perm, yPerm);
    const shuffled: SplitData = {
      ...train,
      x: xPerm,
      y: yPerm,
      seq: train.seq?.map((q) => q && Array.from(perm, (i) => q[i])),
    };
    let batches = 0;
    stepper.beginEpoch();
    try {
      // Sequence inputs: batches of similar length (length bucketing); dense: consecutive rows.
      for (const rows of epochBatches(shuffled, s.batchSize, shuffleRng)) {
        batches++;
        await stepper.run(shuffled, rows);
      }
    } finally {
      stepper.endEpoch();
    }
    const loss = (await stepper.takeLossSum()) / batches;
    const trainSeconds = (performance.now() - t0) / 1000;

    const devProb = predictSplit(model, dev, dims);
    const m = evaluate(devRowsTrue, rowsOf(devProb, dev.n, L), data.labels, { threshold: s.threshold });
    const score = m.f1.macro;
    const isBest = best === null || score > best.score;
    if (isBest) {
      best = { epoch: epoch + 1, score };
      bestWeights = readWeights(model);
      sinceBest = 0;
    } else sinceBest++;
    const metrics: EpochMetrics = {
      epoch: epoch + 1,
      loss,
      devMacroF1: score,
      devMicroF1: m.f1.micro,
      devSamplesF1: m.f1.samples,
      devWeightedF1: m.f1.weighted,
      trainSeconds,
      seconds: (performance.now() - t0) / 1000,
      best: isBest,
    };
    history.push(metrics);
    epochsThisCall++;
    const earlyStop = s.patience > 0 && sinceBest >= s.patience;
    if (earlyStop) stopReason = 'early-stopped';
    if (opts.dir && ckptPath) {
      writeCheckpoint(ckptPath, {
        state: {
          epoch: epoch + 1,
          rng: { shuffle: shuffleRng.state, dropout: dropoutRng.state },
          best,
          sinceBest,
          history,
          fingerprint: fp,
          stopReason: earlyStop ? 'early-stopped' : undefined,
        },
        weights: readWeights(model),
        optimizer: groups.flatMap((g) => g.optimizer.exportState()),
        bestWeights,
      });
      writeFileAtomic(join(opts.dir, METRICS_FILE), history.map((h) => JSON.stringify(h)).join('\n') + '\n');
    }
    opts.onEpoch?.(metrics);
    bar?.tick(
      1,
      `loss ${loss.toFixed(4)} · dev macro-F1 ${score.toFixed(3)} micro ${m.f1.micro.toFixed(3)} · best ${best!.score.toFixed(3)} @${best!.epoch}`,
    );
    if (earlyStop) break;
    if (
      opts.signal?.aborted ||
      (opts.maxEpochsThisCall !== undefined && epochsThisCall >= opts.maxEpochsThisCall)
    ) {
      if (epoch + 1 < s.epochs) stopReason = 'interrupted';
      break;
    }
  }
  bar?.stop();
  writeWeights(model, bestWeights);
  groups.forEach((g) => g.optimizer.dispose());
  stepper.dispose();
  return {
    built,
    bestEpoch: best?.epoch ?? 0,
    bestDevMacroF1: best?.score ?? 0,
    history,
    stopReason,
    resumedFrom: startEpoch,
    engine: stepper.engine,
  };
}
