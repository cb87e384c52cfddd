/**
 * A linear probe: how much genre information cached features carry, measured the quick way
 * (multi-label logistic regression, one weight vector per genre) against the best constant
 * predictor.
 */
import { macroF1 } from '../../src/eval/metrics.js';
import type { Dataset, SplitName } from '../../src/data/types.js';
import { multiHot } from '../../src/data/genres.js';
import type { FeatureMatrix } from '../../src/features/types.js';
import { initEngine, tf } from '../../src/engine/index.js';

export interface ProbeOptions {
  epochs?: number;
  learningRate?: number;
  l2?: number;
  /** Weight positives by negatives/positives per genre (as scikit-learn's class_weight='balanced' does in effect). */
  balanced?: boolean;
}

export interface ProbeData {
  x: Float32Array;
  y: Uint8Array[];
  rows: number;
  dim: number;
  ids: string[];
}

/** Rows of a split that have features (missing rows are left out, not zero-filled). */
export function probeData(features: FeatureMatrix, dataset: Dataset, split: SplitName): ProbeData {
  const index = new Map(features.ids.map((id, i) => [id, i]));
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  const ids = dataset.splits[split].filter((id) => {
    const i = index.get(id);
    return i !== undefined && !features.missing[i];
  });
  const x = new Float32Array(ids.length * features.dim);
  ids.forEach((id, k) => {
    const i = index.get(id)!;
    x.set(features.data.subarray(i * features.dim, (i + 1) * features.dim), k * features.dim);
  });
  const y = ids.map((id) => Uint8Array.from(multiHot(byId.get(id)!.genres, dataset.labels)));
  return { x, y, rows: ids.length, dim: features.dim, ids };
}

export interface LinearProbe {
  predict(data: ProbeData): Float32Array[];
}

/**
 * Multi-label logistic regression on standardised features, full-batch Adam on the engine
 * (tfjs-wasm: the matmuls are what costs, and its SIMD kernels do them ~10× faster than JS loops).
 */
export async function trainProbe(
  train: ProbeData,
  labels: number,
  opts: ProbeOptions = {},
): Promise<LinearProbe> {
  await initEngine();
  const { rows: n, dim: d } = train;
  const epochs = opts.epochs ?? 200;
  const l2 = opts.l2 ?? 1e-2;
  const yFlat = new Float32Array(n * labels);
  train.y.forEach((y, i) => yFlat.set(y, i * labels));
  const posWeight = new Float32Array(labels).fill(1);
  if (opts.balanced ?? true) {
    for (let l = 0; l < labels; l++) {
      let pos = 0;
      for (let i = 0; i < n; i++) pos += yFlat[i * labels + l];
      posWeight[l] = pos > 0 ? (n - pos) / pos : 1;
    }
  }
  const x = tf.tensor2d(train.x, [n, d]);
  const { mean, variance } = tf.moments(x, 0);
  const std = tf.tidy(() => tf.add(tf.sqrt(variance), 1e-6));
  const xs = tf.tidy(() => tf.div(tf.sub(x, mean), std));
  const y = tf.tensor2d(yFlat, [n, labels]);
  // Per-element weight: positives weighted by negatives/positives of their genre, negatives 1.
  const w = tf.tidy(() => tf.add(tf.mul(y, tf.sub(tf.tensor1d(posWeight), 1)), 1));
  const wSum = tf.tidy(() => tf.sum(w));
  const W = tf.variable(tf.zeros([d, labels]));
  const b = tf.variable(tf.zeros([labels]));
  const optimizer = tf.train.adam(opts.learningRate ?? 0.01);
  for (let e = 0; e < epochs; e++) {
    tf.tidy(() => {
      optimizer.minimize(() => {
        const logits = tf.add(tf.matMul(xs, W), b);
        // Numerically stable BCE with logits: max(z,0) - z*y + log(1 + e^-|z|).
        const bce = tf.add(
          tf.sub(tf.relu(logits), tf.mul(logits, y)),
          tf.log1p(tf.exp(tf.neg(tf.abs(logits)))),
        );
        const data = tf.div(tf.sum(tf.mul(bce, w)), wSum);
        return tf.add(data, tf.mul(tf.sum(tf.square(W)), l2 / 2)) as tf.Scalar;
      });
    });
  }
  optimizer.dispose();
  const weights = W.dataSync().slice() as Float32Array;
  const bias = b.dataSync().slice() as Float32Array;
  const meanA = mean.dataSync().slice() as Float32Array;
  const stdA = std.dataSync().slice() as Float32Array;
  tf.dispose([x, mean, variance, std, xs, y, w, wSum, W, b]);
  return {
    predict(data: ProbeData): Float32Array[] {
      const out: Float32Array[] = [];
      const row = new Float32Array(d);
      for (let i = 0; i < data.rows; i++) {
        for (let j = 0; j < d; j++) row[j] = (data.x[i * d + j] - meanA[j]) / stdA[j];
        const p = new Float32Array(labels);
        for (let l = 0; l < labels; l++) {
          let z = bias[l];
          for (let j = 0; j < d; j++) z += weights[j * labels + l] * row[j];
          p[l] = 1 / (1 + Math.exp(-z));
        }
        out.push(p);
      }
      return out;
    },
  };
}

/**
 * The best macro-F1 any constant predictor reaches on `y`: per genre, predicting it always or
 * never (a constant cannot do better on a genre than the better of the two), which covers
 * "all positive", "nothing" and "the frequent genres" alike.
 */
export function bestConstantMacroF1(y: Uint8Array[], labels: number): number {
  const alwaysPos = y.map(() => new Float32Array(labels).fill(1));
  const never = y.map(() => new Float32Array(labels));
  const perLabel = (probs: Float32Array[]): number[] =>
    Array.from({ length: labels }, (_, l) =>
      macroF1(
        y.map((r) => [r[l]]),
        probs.map((p) => [p[l]]),
        0.5,
      ),
    );
  const a = perLabel(alwaysPos);
  const b = perLabel(never);
  return a.reduce((s, v, l) => s + Math.max(v, b[l]), 0) / labels;
}

export interface ProbeResult {
  probeMacroF1: number;
  constantMacroF1: number;
  trainRows: number;
  evalRows: number;
}

/** Train on `trainSplit`, report macro-F1 at 0.5 on `evalSplit` beside the best constant predictor. */
export async function linearProbe(
  features: FeatureMatrix,
  dataset: Dataset,
  opts: ProbeOptions & { trainSplit?: SplitName; evalSplit?: SplitName } = {},
): Promise<ProbeResult> {
  const train = probeData(features, dataset, opts.trainSplit ?? 'train');
  const dev = probeData(features, dataset, opts.evalSplit ?? 'dev');
  const L = dataset.labels.length;
  const probe = await trainProbe(train, L, opts);
  const probs = probe.predict(dev);
  return {
    probeMacroF1: macroF1(dev.y, probs, 0.5),
    constantMacroF1: bestConstantMacroF1(dev.y, L),
    trainRows: train.rows,
    evalRows: dev.rows,
  };
}
