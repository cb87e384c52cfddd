import * as tf from '@tensorflow/tfjs-core';
import type { GruOutput, GruWeights } from './gru-types.js';

/**
 * The same GRU as `gru()` (gru.ts), built from ordinary tfjs ops: ~12 engine ops per step forward
 * and ~20 backward inside one tf.customGrad. Kept as the fallback for backends without the fused
 * kernels (e.g. webgl in a browser) and as the "before" of the benchmark. Runs a GRU over `x`
 * [batch, time, inputDim]. `mask` [batch, time] is 1 for real tokens and 0
 * for padding (null: no padding). `reverse` reads the sequence backwards (the second half of a
 * bidirectional GRU). Differentiable with respect to x and all weights.
 */
export function gruOps(
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
