import * as tf from '@tensorflow/tfjs-core';

/**
 * A fast GRU for padded, masked batches. tfjs-layers' GRU builds ~15 taped ops per time step and
 * lets autodiff replay them, which makes a bidirectional epoch ~30× slower than PyTorch here.
 * This one (1) projects the inputs of all time steps with one big matmul, (2) runs only h·U per
 * step, and (3) wraps the whole recurrence in one tf.customGrad whose hand-written
 * backpropagation-through-time needs a single matmul per step, accumulating dU with one big
 * matmul at the end. Gates follow PyTorch/cuDNN ("reset after"):
 *   z = σ(x·Wz + bz + h·Uz + cz),  r = σ(x·Wr + br + h·Ur + cr)
 *   n = tanh(x·Wn + bn + r ⊙ (h·Un + cn)),  h' = n + z ⊙ (h − n)
 * and a masked step keeps h unchanged, so right-padded sequences end on their last real token.
 */
export interface GruWeights {
  /** [inputDim, 3·units], gate order z, r, n. */
  kernel: tf.Tensor2D;
  /** [units, 3·units]. */
  recurrentKernel: tf.Tensor2D;
  /** [3·units] input bias. */
  bias: tf.Tensor1D;
  /** [3·units] recurrent bias (the n-gate part sits inside r ⊙ (·)). */
  recurrentBias: tf.Tensor1D;
}

export interface GruOutput {
  /** Hidden state at every step, [batch, time, units] (in input order, also for reverse). */
  sequence: tf.Tensor3D;
  /** State after the last real (unmasked) token, [batch, units]. */
  last: tf.Tensor2D;
}

/** Trainable GRU weights (Glorot-uniform kernels, orthogonal-free for speed; zero biases). */
export function createGruWeights(inputDim: number, units: number, seed = 1, name = 'gru'): GruWeights {
  const glorot = (fanIn: number, fanOut: number, s: number) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    return tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', s);
  };
  return {
    kernel: tf.variable(glorot(inputDim, 3 * units, seed), true, `${name}/kernel`) as tf.Variable<tf.Rank.R2>,
    recurrentKernel: tf.variable(
      glorot(units, 3 * units, seed + 1),
      true,
      `${name}/recurrent_kernel`,
    ) as tf.Variable<tf.Rank.R2>,
    bias: tf.variable(tf.zeros([3 * units]), true, `${name}/bias`) as tf.Variable<tf.Rank.R1>,
    recurrentBias: tf.variable(
      tf.zeros([3 * units]),
      true,
      `${name}/recurrent_bias`,
    ) as tf.Variable<tf.Rank.R1>,
  };
}

/**
 * Runs a GRU over `x` [batch, time, inputDim]. `mask` [batch, time] is 1 for real tokens and 0
 * for padding (null: no padding). `reverse` reads the sequence backwards (the second half of a
 * bidirectional GRU). Differentiable with respect to x and all weights.
 */
export function gru(
  x: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  w: GruWeights,
  opts: { reverse?: boolean } = {},
): GruOutput {
  return tf.tidy(() => {
    const [batch, time, inputDim] = x.shape;
    const units = w.recurrentKernel.shape[0];
    // All input projections at once: [batch·time, inputDim]·[inputDim, 3·units].
    const projected = tf.add(tf.matMul(tf.reshape(x, [batch * time, inputDim]), w.kernel), w.bias);
    let xp = tf.transpose(tf.reshape(projected, [batch, time, 3 * units]), [1, 0, 2]) as tf.Tensor3D;
    let m = tf.reshape(mask ? tf.transpose(tf.cast(mask, 'float32')) : tf.ones([time, batch]), [
      time,
      batch,
      1,
    ]);
    if (opts.reverse) {
      xp = tf.reverse(xp, 0);
      m = tf.reverse(m, 0);
    }
    const states = recurrence(xp, m as tf.Tensor3D, w.recurrentKernel, w.recurrentBias); // [time, batch, units]
    const last = tf.reshape(tf.slice(states, [time - 1, 0, 0], [1, batch, units]), [
      batch,
      units,
    ]) as tf.Tensor2D;
    const ordered = opts.reverse ? tf.reverse(states, 0) : states;
    const sequence = tf.transpose(ordered, [1, 0, 2]) as tf.Tensor3D;
    return { sequence, last };
  });
}

/** Bidirectional GRU: [last forward state, last backward state] concatenated, [batch, 2·units]. */
export function biGruLast(
  x: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  forward: GruWeights,
  backward: GruWeights,
) {
  return tf.tidy(() => {
    const f = gru(x, mask, forward);
    const b = gru(x, mask, backward, { reverse: true });
    return tf.concat([f.last, b.last], 1) as tf.Tensor2D;
  });
}

/** The recurrence over time-major projected inputs, as one differentiable op. */
function recurrence(xp: tf.Tensor3D, m: tf.Tensor3D, u: tf.Tensor2D, ub: tf.Tensor1D): tf.Tensor3D {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xpIn, mIn, uIn, ubIn] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const xpT = xpIn as tf.Tensor3D;
    const [time, batch, threeUnits] = xpT.shape;
    const units = threeUnits / 3;
    const xs = tf.unstack(xpT);
    const ms = tf.unstack(mIn as tf.Tensor3D);
    let h: tf.Tensor2D = tf.zeros([batch, units]);
    const hs: tf.Tensor[] = [];
    const saved: tf.Tensor[] = [];
    for (let t = 0; t < time; t++) {
      const g = tf.add(tf.matMul(h, uIn as tf.Tensor2D), ubIn);
      const [gz, gr, gn] = tf.split(g, 3, 1);
      const [xz, xr, xn] = tf.split(xs[t], 3, 1);
      const z = tf.sigmoid(tf.add(xz, gz));
      const r = tf.sigmoid(tf.add(xr, gr));
      const n = tf.tanh(tf.add(xn, tf.mul(r, gn)));
      const hNew = tf.add(n, tf.mul(z, tf.sub(h, n)));
      const next = tf.add(h, tf.mul(ms[t], tf.sub(hNew, h))) as tf.Tensor2D;
      saved.push(z, r, n, gn);
      hs.push(next);
      h = next;
    }
    const states = tf.stack(hs) as tf.Tensor3D;
    save([uIn, mIn, states, ...saved]);
    return {
      value: states,
      gradFunc: (dy: tf.Tensor, savedTensors: tf.Tensor[]) =>
        backward(dy as tf.Tensor3D, savedTensors, time, batch, units),
    };
  });
  return op(xp, m, u, ub) as tf.Tensor3D;
}

function backward(dy: tf.Tensor3D, savedTensors: tf.Tensor[], time: number, batch: number, units: number) {
  const [u, mAll, states, ...gates] = savedTensors;
  const dys = tf.unstack(dy);
  const ms = tf.unstack(mAll);
  const hsAll = tf.unstack(states);
  const zeroH = tf.zeros([batch, units]);
  let dh: tf.Tensor = tf.zeros([batch, units]);
  const dxps: tf.Tensor[] = new Array(time);
  const dgs: tf.Tensor[] = new Array(time);
  for (let t = time - 1; t >= 0; t--) {
    const [z, r, n, gn] = gates.slice(4 * t, 4 * t + 4);
    const hPrev = t > 0 ? hsAll[t - 1] : zeroH;
    dh = tf.add(dh, dys[t]);
    const dhNew = tf.mul(ms[t], dh);
    const dhKeep = tf.sub(dh, dhNew);
    const dn = tf.mul(dhNew, tf.sub(1, z));
    const daz = tf.mul(tf.mul(dhNew, tf.sub(hPrev, n)), tf.mul(z, tf.sub(1, z)));
    const dan = tf.mul(dn, tf.sub(1, tf.square(n)));
    const dr = tf.mul(dan, gn);
    const dar = tf.mul(dr, tf.mul(r, tf.sub(1, r)));
    const dg = tf.concat([daz, dar, tf.mul(dan, r)], 1);
    dxps[t] = tf.concat([daz, dar, dan], 1);
    dgs[t] = dg;
    dh = tf.add(tf.add(dhKeep, tf.mul(dhNew, z)), tf.matMul(dg, u, false, true));
  }
  const dG = tf.reshape(tf.stack(dgs), [time * batch, 3 * units]);
  const hPrevAll = tf.reshape(tf.concat([tf.expandDims(zeroH, 0), tf.slice(states, 0, time - 1)], 0), [
    time * batch,
    units,
  ]);
  const dU = tf.matMul(hPrevAll, dG, true, false);
  const dUb = tf.sum(dG, 0);
  return [tf.stack(dxps), tf.zerosLike(mAll), dU, dUb];
}

/**
 * Orders examples into batches of similar length, so a batch is padded only to its own longest
 * sequence (less wasted recurrence). Sorting is by length; batches are then shuffled with `seed`
 * (deterministic) so training does not see lengths in order. Returns batches of indices.
 */
export function bucketByLength(lengths: ArrayLike<number>, batchSize: number, seed?: number): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort(
    (a, b) => lengths[a] - lengths[b] || a - b,
  );
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  if (seed !== undefined) {
    let s = seed >>> 0 || 1;
    for (let i = batches.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [batches[i], batches[j]] = [batches[j], batches[i]];
    }
  }
  return batches;
}

/** Longest real length in a batch (pad the batch to this, not to the global maximum). */
export function batchMaxLength(lengths: ArrayLike<number>, batch: number[]): number {
  let max = 1;
  for (const i of batch) max = Math.max(max, lengths[i]);
  return max;
}
