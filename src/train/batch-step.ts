/**
 * One training batch through one gradient engine. fit() runs its epochs the same way whichever
 * engine computes the gradients; the engine is chosen once per training (batchStepFor):
 * onnxruntime's compiled step (./onnx-step.ts) for the models it can express, tfjs' autodiff
 * for the others. Both apply the gradients with the same optimizers, so a run can resume on
 * either.
 */
import { tf } from '../engine/index.js';
import type { FusedAdam } from '../engine/fused-adam.js';
import type { LayersModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import type { TrainingSettings } from '../runs/config.js';
import { withSeededRandom, type SeededRandom } from '../util/random.js';
import { batchInputs, batchLabels } from './batches.js';
import type { SplitData } from './data.js';
import { OnnxTrainingStep, UnsupportedError } from './onnx-step.js';

/** Variables that share one optimizer (and its learning-rate scale). */
export interface OptimizerGroup {
  lrScale: number;
  vars: tf.Variable[];
  optimizer: FusedAdam;
}

export interface BatchStep {
  readonly engine: 'onnx' | 'tfjs';
  /** Before an epoch's first batch. */
  beginEpoch(): void;
  /** Train on `rows` of the epoch's shuffled split: loss, gradients, optimizer update. */
  run(split: SplitData, rows: number[]): Promise<void>;
  /** After an epoch's batches, also when one of them threw. */
  endEpoch(): void;
  /** The sum of the batch losses since the last call. */
  takeLossSum(): Promise<number>;
  dispose(): void;
}

export interface BatchStepContext {
  spec: ModelSpec;
  /** The model without its output sigmoid: the loss is computed on logits. */
  logitsModel: LayersModel;
  groups: OptimizerGroup[];
  settings: TrainingSettings;
  /** Per-genre weights of the positive term of the loss ('balanced' class weights), or null. */
  posWeight: Float32Array | null;
  batchesPerEpoch: number;
  dims: number[];
  labels: number;
  /** The trainer's seeded stream for dropout masks. */
  dropoutRng: SeededRandom;
}

/**
 * Batches per epoch from which the onnx step trains dense kernels transposed. Switching the
 * layout there and back costs 15 ms per epoch for a 1380→512→23 head and 35 ms for the
 * paper-size GMU (kernels and both Adam moments), about what 30–70 steps gain: an epoch of the
 * sample's 967 movies (31 batches) trained slower with it (0.17–0.18 s vs 0.14–0.15 s), one of
 * MM-IMDB's 15,552 (486 batches) faster.
 */
const TRANSPOSED_KERNELS_FROM_BATCHES = 128;

/**
 * The onnxruntime step when the settings allow it and the model can be compiled, else tfjs'.
 * `engine: 'onnx'` insists: a model it cannot express is an error naming the part.
 */
export async function batchStepFor(ctx: BatchStepContext): Promise<BatchStep> {
  const { settings: s } = ctx;
  if (s.engine !== 'tfjs') {
    const trainable = ctx.groups.flatMap((g) => g.vars);
    try {
      const step = await OnnxTrainingStep.compile(ctx.spec, ctx.logitsModel, trainable, {
        posWeight: ctx.posWeight,
        kernelLayout: ctx.batchesPerEpoch >= TRANSPOSED_KERNELS_FROM_BATCHES ? 'transposed' : 'model',
      });
      return onnxBatchStep(step, ctx);
    } catch (err) {
      if (!(s.engine === 'auto' && err instanceof UnsupportedError)) throw err;
    }
  }
  return tfjsBatchStep(ctx);
}

/** The entries of `grads` for `vars` (one optimizer group's). */
function pick(grads: tf.NamedTensorMap, vars: tf.Variable[]): tf.NamedTensorMap {
  const mine: tf.NamedTensorMap = {};
  for (const v of vars) if (grads[v.name]) mine[v.name] = grads[v.name];
  return mine;
}

/**
 * tfjs' autodiff. The loss is summed on the backend and read once per epoch (no read per batch);
 * dropout draws from the trainer's stream through withSeededRandom.
 */
function tfjsBatchStep(ctx: BatchStepContext): BatchStep {
  const { logitsModel, groups, dims, labels: L, dropoutRng } = ctx;
  const trainable = groups.flatMap((g) => g.vars);
  const posWeight = ctx.posWeight ? tf.tensor1d(ctx.posWeight) : null;
  const lossOf = (logits: tf.Tensor, y: tf.Tensor): tf.Scalar =>
    tf.tidy(() => {
      // Cross-entropy on logits: (1−y)·softplus(z) + w·y·softplus(−z), w = per-genre positive weight.
      const negTerm = tf.mul(tf.sub(1, y), tf.softplus(logits));
      let posTerm = tf.mul(y, tf.softplus(tf.neg(logits)));
      if (posWeight) posTerm = tf.mul(posTerm, posWeight);
      return tf.mean(tf.add(negTerm, posTerm)) as tf.Scalar;
    });
  const step = (xb: tf.Tensor[], yb: tf.Tensor): tf.Scalar => {
    const f = (): tf.Scalar =>
      lossOf(logitsModel.apply(xb.length === 1 ? xb[0] : xb, { training: true }) as tf.Tensor, yb);
    if (groups.length === 1) return groups[0].optimizer.minimize(f, true, trainable)!;
    const { value, grads } = tf.variableGrads(f, trainable);
    for (const g of groups) g.optimizer.applyGradients(pick(grads, g.vars));
    tf.dispose(Object.values(grads));
    return value;
  };
  let lossSum = tf.scalar(0);
  return {
    engine: 'tfjs',
    beginEpoch() {},
    async run(split, rows) {
      const xb = batchInputs(split, dims, rows);
      const yb = batchLabels(split.y, L, rows);
      const batchLoss = withSeededRandom(dropoutRng, () => step(xb, yb));
      const next = tf.add(lossSum, batchLoss);
      tf.dispose([lossSum, batchLoss, yb, ...xb]);
      lossSum = next as tf.Scalar;
    },
    endEpoch() {},
    async takeLossSum() {
      const sum = (await lossSum.data())[0];
      lossSum.dispose();
      lossSum = tf.scalar(0);
      return sum;
    },
    dispose() {
      lossSum.dispose();
      posWeight?.dispose();
    },
  };
}

/**
 * onnxruntime's compiled step: the rows (consecutive after the epoch's shuffle) are read in
 * place, the labels widened to floats, the dropout masks drawn from the trainer's seeded stream
 * (kept entries scaled by 1/(1 − rate), as tfjs' dropout). The dense kernels are in the step's
 * training layout during an epoch's batches only (see OnnxTrainingStep).
 */
function onnxBatchStep(step: OnnxTrainingStep, ctx: BatchStepContext): BatchStep {
  const { groups, dims, labels: L, dropoutRng } = ctx;
  const optimizers = groups.map((g) => g.optimizer);
  let lossSum = 0;
  return {
    engine: 'onnx',
    beginEpoch() {
      step.useTrainingLayout(optimizers);
    },
    async run(split, rows) {
      const n = rows.length;
      const first = rows[0];
      if (rows[n - 1] !== first + n - 1) throw new Error('onnx step: dense batches must be consecutive rows');
      const x = split.x.map((v, k) => v.subarray(first * dims[k], (first + n) * dims[k]));
      const y = step.scratch('y', n * L);
      for (let i = 0; i < n * L; i++) y[i] = split.y[first * L + i];
      const masks = step.dropout.map(({ rate, width }, k) => {
        const m = step.scratch(`mask${k}`, n * width);
        const kept = 1 / (1 - rate);
        for (let i = 0; i < m.length; i++) m[i] = dropoutRng.next() < rate ? 0 : kept;
        return m;
      });
      lossSum += await step.run(x, y, n, masks);
      for (const g of groups) g.optimizer.applyGradients(pick(step.grads, g.vars));
    },
    endEpoch() {
      step.useModelLayout(optimizers);
    },
    async takeLossSum() {
      const sum = lossSum;
      lossSum = 0;
      return sum;
    },
    dispose() {
      step.dispose();
    },
  };
}
