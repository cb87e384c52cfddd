import * as tf from '@tensorflow/tfjs-core';
import { required } from './kernel-override.js';
import {
  bidirectionalLast,
  createWorkspace,
  floatMask,
  glorotUniform,
  hasFusedKernels,
  lastState,
  projectInputs,
  registerFusedKernel,
  weightGrads,
} from './fused-rnn.js';
import { gruOps } from './gru-ops.js';
import type { GruOutput, GruWeights } from './gru-types.js';

/**
 * A fast GRU for padded, masked batches. tfjs-layers' GRU builds ~15 taped ops per time step and
 * lets autodiff replay them, which makes a bidirectional epoch ~30× slower than PyTorch here.
 * This one projects the inputs of all time steps with one big matmul, then runs the recurrence
 * of a direction as ONE fused kernel (fused-rnn.ts): per step h·U on XNNPACK and the gate
 * arithmetic in plain loops; the backward pass (backpropagation through time, dU and the bias
 * gradients) is one fused kernel too. Gates follow PyTorch/cuDNN ("reset after"):
 *   z = σ(x·Wz + bz + h·Uz + cz),  r = σ(x·Wr + br + h·Ur + cr)
 *   n = tanh(x·Wn + bn + r ⊙ (h·Un + cn)),  h' = n + z ⊙ (h − n)
 * and a masked step keeps h unchanged (h ← h + m·(h' − h)), so right-padded sequences end on
 * their last real token.
 */
export type { GruOutput, GruWeights } from './gru-types.js';

/** Trainable GRU weights (Glorot-uniform kernels, orthogonal-free for speed; zero biases). */
export function createGruWeights(inputDim: number, units: number, seed = 1, name = 'gru'): GruWeights {
  return {
    kernel: tf.variable(
      glorotUniform(inputDim, 3 * units, seed),
      true,
      `${name}/kernel`,
    ) as tf.Variable<tf.Rank.R2>,
    recurrentKernel: tf.variable(
      glorotUniform(units, 3 * units, seed + 1),
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
  if (!hasFusedKernels()) return gruOps(x, mask, w, opts);
  return tf.tidy(() => {
    const [batch, time] = x.shape;
    if (time < 1) throw new Error('gru: the sequence needs at least one time step');
    const xp = projectInputs(x, w.kernel);
    const m = floatMask(mask, batch, time);
    const op = opts.reverse ? fusedGruReverse : fusedGruForward;
    const sequence = op(xp, m, w.bias, w.recurrentKernel, w.recurrentBias);
    return { sequence, last: lastState(sequence, Boolean(opts.reverse)) };
  });
}

/** Bidirectional GRU: [last forward state, last backward state] concatenated, [batch, 2·units]. */
export function biGruLast(
  x: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  forward: GruWeights,
  backward: GruWeights,
) {
  return bidirectionalLast(gru, x, mask, forward, backward);
}

/**
 * Kernel names. Forward: inputs xp [B,T,3H] (x·W, batch-major), mask [B,T] (float), b [3H],
 * u [H,3H], ub [3H]; attr reverse; outputs the sequence [B,T,H] (input order), the states [T+1,B,H]
 * (time-major, processing order, row 0 = the zero initial state) and the gates [T,B,4H] (z, r,
 * n and h·Un + cn per step) that the backward kernel needs.
 */
export const FUSED_GRU = 'MmgenreFusedGru';
/**
 * Backward: inputs dy [B,T,H], mask, u, states, gates; attr reverse; outputs dxp, db, du, dub
 * (shaped like xp, b, u, ub).
 */
export const FUSED_GRU_GRAD = 'MmgenreFusedGruGrad';

/** One differentiable op per direction: the tfjs engine sees one node forward, one backward. */
function makeFusedGru(reverse: boolean) {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xp, mask, b, u, ub] = args as tf.Tensor[];
    const save = args[5] as tf.GradSaveFunc;
    const [sequence, states, gates] = tf
      .engine()
      .runKernel(FUSED_GRU, { xp, mask, b, u, ub }, { reverse }) as tf.Tensor[];
    save([mask, u, states, gates]);
    return {
      value: sequence,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [smask, su, sstates, sgates] = saved;
        const [dxp, db, du, dub] = tf
          .engine()
          .runKernel(
            FUSED_GRU_GRAD,
            { dy, mask: smask, u: su, states: sstates, gates: sgates },
            { reverse },
          ) as tf.Tensor[];
        return [dxp, tf.zerosLike(smask), db, du, dub];
      },
    };
  }) as (xp: tf.Tensor, mask: tf.Tensor, b: tf.Tensor, u: tf.Tensor, ub: tf.Tensor) => tf.Tensor3D;
}
const fusedGruForward = makeFusedGru(false);
const fusedGruReverse = makeFusedGru(true);

const fusedGru: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { xp, mask, b, u, ub } = required(inputs, 'xp', 'mask', 'b', 'u', 'ub');
  const reverse = Boolean((attrs as { reverse?: boolean }).reverse);
  const [B, T, G] = xp.shape;
  const H = G / 3;
  const ws = createWorkspace(backend as tf.KernelBackend);
  const XP = ws.input(xp);
  const M = ws.input(mask).off;
  const BI = ws.input(b).off;
  const U = ws.input(u);
  const UB = ws.input(ub).off;
  const SEQ = ws.output([B, T, H]).off;
  const S = ws.output([T + 1, B, H]).off;
  const Z = ws.output([T, B, 4 * H]).off;
  const hA = ws.scratch(B * H, true);
  const g = ws.scratch(B * G, true);
  const a2 = ws.scratch(B * H, true);
  ws.heap().fill(0, S, S + B * H); // h0 = 0 (wasm outputs are uninitialised)
  const uw = ws.asWeight(U, H, G);
  // Per step: one matmul, three light passes and two native sigmoids (tanh(a) = 2σ(2a) − 1),
  // so no transcendental function runs in JS.
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    ws.matmul(hA, B, uw, g);
    let f = ws.heap();
    for (let bb = 0; bb < B; bb++) {
      const xo = XP.off + (bb * T + t) * G;
      const go = g.off + bb * G;
      const zo = Z + (k * B + bb) * 4 * H;
      for (let j = 0; j < 2 * H; j++) f[go + j] += f[xo + j] + f[BI + j] + f[UB + j];
      for (let j = 0; j < H; j++) f[zo + 3 * H + j] = f[go + 2 * H + j] + f[UB + 2 * H + j];
    }
    ws.sigmoid(g); // z and r (the n third is overwritten too; its pre-activation is saved above)
    f = ws.heap();
    for (let bb = 0; bb < B; bb++) {
      const xo = XP.off + (bb * T + t) * G + 2 * H;
      const ro = g.off + bb * G + H;
      const zo = Z + (k * B + bb) * 4 * H + 3 * H;
      const ao = a2.off + bb * H;
      for (let j = 0; j < H; j++) f[ao + j] = 2 * (f[xo + j] + f[BI + 2 * H + j] + f[ro + j] * f[zo + j]);
    }
    ws.sigmoid(a2);
    f = ws.heap();
    for (let bb = 0; bb < B; bb++) {
      const m = f[M + bb * T + t];
      const ho = hA.off + bb * H;
      const so = S + ((k + 1) * B + bb) * H;
      const qo = SEQ + (bb * T + t) * H;
      const zo = Z + (k * B + bb) * 4 * H;
      if (m === 0) {
        // Padding: the state passes through; zero gates make the backward step inert too.
        f.copyWithin(so, ho, ho + H);
        f.copyWithin(qo, ho, ho + H);
        f.fill(0, zo, zo + 4 * H);
        continue;
      }
      const go = g.off + bb * G;
      const ao = a2.off + bb * H;
      for (let j = 0; j < H; j++) {
        const z = f[go + j];
        const n = 2 * f[ao + j] - 1;
        const h = f[ho + j];
        const hNew = h + m * (n + z * (h - n) - h);
        f[zo + j] = z;
        f[zo + H + j] = f[go + H + j];
        f[zo + 2 * H + j] = n;
        f[ho + j] = hNew;
        f[so + j] = hNew;
        f[qo + j] = hNew;
      }
    }
  }
  return ws.finish();
};

const fusedGruGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, mask, u, states, gates } = required(inputs, 'dy', 'mask', 'u', 'states', 'gates');
  const reverse = Boolean((attrs as { reverse?: boolean }).reverse);
  const [B, T, H] = dy.shape;
  const G = 3 * H;
  const ws = createWorkspace(backend as tf.KernelBackend);
  const DY = ws.input(dy).off;
  const M = ws.input(mask).off;
  const U = ws.input(u);
  const S = ws.input(states);
  const Z = ws.input(gates).off;
  const DXP = ws.output([B, T, G]); // batch-major, like xp
  const db = ws.output([G]);
  const du = ws.output([H, G]);
  const dub = ws.output([G]);
  const DG = ws.scratch(T * B * G, true); // time-major, like the states
  const dh = ws.scratch(B * H).off;
  const tmp = ws.scratch(B * H, true);
  // dh_prev needs dg·Uᵀ: materialise Uᵀ once so every step takes XNNPACK's untransposed path.
  const uT = ws.scratch(G * H, true);
  ws.transpose(U, H, G, uT);
  const uTw = ws.asWeight(uT, G, H);
  for (let k = T - 1; k >= 0; k--) {
    const t = reverse ? T - 1 - k : k;
    const f = ws.heap();
    for (let b = 0; b < B; b++) {
      const m = f[M + b * T + t];
      const dho = dh + b * H;
      const dyo = DY + (b * T + t) * H;
      const xo = DXP.off + (b * T + t) * G;
      const go = DG.off + (k * B + b) * G;
      if (m === 0) {
        for (let j = 0; j < H; j++) f[dho + j] += f[dyo + j];
        f.fill(0, xo, xo + G);
        f.fill(0, go, go + G);
        continue;
      }
      const zo = Z + (k * B + b) * 4 * H;
      const po = S.off + (k * B + b) * H;
      for (let j = 0; j < H; j++) {
        const d = f[dho + j] + f[dyo + j];
        const dhNew = m * d;
        const z = f[zo + j];
        const r = f[zo + H + j];
        const n = f[zo + 2 * H + j];
        const gn = f[zo + 3 * H + j];
        const dn = dhNew * (1 - z);
        const daz = dhNew * (f[po + j] - n) * z * (1 - z);
        const dan = dn * (1 - n * n);
        const dar = dan * gn * r * (1 - r);
        f[xo + j] = daz;
        f[xo + H + j] = dar;
        f[xo + 2 * H + j] = dan;
        f[go + j] = daz;
        f[go + H + j] = dar;
        f[go + 2 * H + j] = dan * r;
        f[dho + j] = d - dhNew + dhNew * z;
      }
    }
    ws.matmul(ws.view(DG, k * B * G, B * G), B, uTw, tmp);
    const f2 = ws.heap();
    for (let i = 0; i < B * H; i++) f2[dh + i] += f2[tmp.off + i];
  }
  weightGrads(ws, { states: S, dxp: DXP, dg: DG, db, du, dub }, { rows: B * T, units: H, gates: G });
  return ws.finish();
};

registerFusedKernel(FUSED_GRU, fusedGru);
registerFusedKernel(FUSED_GRU_GRAD, fusedGruGrad);
