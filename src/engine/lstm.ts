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

/**
 * A fast LSTM for padded, masked batches, built like the GRU in gru.ts: every step's x·W in one
 * matmul, then one fused kernel per direction forward and one backward (fused-rnn.ts). Gate
 * order i, f, g, o (Keras and PyTorch):
 *   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o) with a = x·W + b + h·U
 *   c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
 * A masked step keeps both h and c unchanged, so right-padded sequences end on their last real
 * token. One bias (PyTorch's two are redundant: only their sum matters).
 */
export interface LstmWeights {
  /** [inputDim, 4·units], gate order i, f, g, o. */
  kernel: tf.Tensor2D;
  /** [units, 4·units]. */
  recurrentKernel: tf.Tensor2D;
  /** [4·units]. */
  bias: tf.Tensor1D;
}

export interface LstmOutput {
  /** Hidden state h at every step, [batch, time, units] (in input order, also for reverse). */
  sequence: tf.Tensor3D;
  /** h after the last real (unmasked) token, [batch, units]. */
  last: tf.Tensor2D;
}

/** Trainable LSTM weights: Glorot-uniform kernels, zero bias except 1 for the forget gate (as Keras). */
export function createLstmWeights(inputDim: number, units: number, seed = 1, name = 'lstm'): LstmWeights {
  const bias = new Float32Array(4 * units);
  bias.fill(1, units, 2 * units);
  return {
    kernel: tf.variable(
      glorotUniform(inputDim, 4 * units, seed),
      true,
      `${name}/kernel`,
    ) as tf.Variable<tf.Rank.R2>,
    recurrentKernel: tf.variable(
      glorotUniform(units, 4 * units, seed + 1),
      true,
      `${name}/recurrent_kernel`,
    ) as tf.Variable<tf.Rank.R2>,
    bias: tf.variable(tf.tensor1d(bias), true, `${name}/bias`) as tf.Variable<tf.Rank.R1>,
  };
}

/**
 * Runs an LSTM over `x` [batch, time, inputDim]. `mask` [batch, time] is 1 for real tokens and 0
 * for padding (null: no padding). `reverse` reads the sequence backwards. Differentiable with
 * respect to x and all weights. Needs the wasm or cpu backend (the fused kernels).
 */
export function lstm(
  x: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  w: LstmWeights,
  opts: { reverse?: boolean } = {},
): LstmOutput {
  if (!hasFusedKernels())
    throw new Error(`lstm: the fused kernels run on the wasm and cpu backends, not '${tf.getBackend()}'`);
  return tf.tidy(() => {
    const [batch, time] = x.shape;
    if (time < 1) throw new Error('lstm: the sequence needs at least one time step');
    const xp = projectInputs(x, w.kernel);
    const m = floatMask(mask, batch, time);
    const op = opts.reverse ? fusedLstmReverse : fusedLstmForward;
    const sequence = op(xp, m, w.bias, w.recurrentKernel);
    return { sequence, last: lastState(sequence, Boolean(opts.reverse)) };
  });
}

/** Bidirectional LSTM: [last forward h, last backward h] concatenated, [batch, 2·units]. */
export function biLstmLast(
  x: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  forward: LstmWeights,
  backward: LstmWeights,
): tf.Tensor2D {
  return bidirectionalLast(lstm, x, mask, forward, backward);
}

/**
 * Kernel names. Forward: inputs xp [B,T,4H], mask [B,T] (float), b [4H], u [H,4H]; attr reverse;
 * outputs the sequence [B,T,H] (input order), h states and c states [T+1,B,H] (time-major,
 * processing order, row 0 = zeros) and the gates [T,B,5H] (i, f, g, o, tanh c' per step).
 */
export const FUSED_LSTM = 'MmgenreFusedLstm';
/** Backward: inputs dy [B,T,H], mask, u, hStates, cStates, gates; outputs dxp, db, du. */
export const FUSED_LSTM_GRAD = 'MmgenreFusedLstmGrad';

function makeFusedLstm(reverse: boolean) {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xp, mask, b, u] = args as tf.Tensor[];
    const save = args[4] as tf.GradSaveFunc;
    const [sequence, hStates, cStates, gates] = tf
      .engine()
      .runKernel(FUSED_LSTM, { xp, mask, b, u }, { reverse }) as tf.Tensor[];
    save([mask, u, hStates, cStates, gates]);
    return {
      value: sequence,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [smask, su, sh, sc, sgates] = saved;
        const [dxp, db, du] = tf
          .engine()
          .runKernel(
            FUSED_LSTM_GRAD,
            { dy, mask: smask, u: su, hStates: sh, cStates: sc, gates: sgates },
            { reverse },
          ) as tf.Tensor[];
        return [dxp, tf.zerosLike(smask), db, du];
      },
    };
  }) as (xp: tf.Tensor, mask: tf.Tensor, b: tf.Tensor, u: tf.Tensor) => tf.Tensor3D;
}
const fusedLstmForward = makeFusedLstm(false);
const fusedLstmReverse = makeFusedLstm(true);

const fusedLstm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { xp, mask, b, u } = required(inputs, 'xp', 'mask', 'b', 'u');
  const reverse = Boolean((attrs as { reverse?: boolean }).reverse);
  const [B, T, G] = xp.shape;
  const H = G / 4;
  const ws = createWorkspace(backend as tf.KernelBackend);
  const XP = ws.input(xp).off;
  const M = ws.input(mask).off;
  const BI = ws.input(b).off;
  const U = ws.input(u);
  const SEQ = ws.output([B, T, H]).off;
  const HS = ws.output([T + 1, B, H]).off;
  const CS = ws.output([T + 1, B, H]).off;
  const Z = ws.output([T, B, 5 * H]).off;
  const hA = ws.scratch(B * H, true);
  const g = ws.scratch(B * G, true);
  const tc = ws.scratch(B * H, true);
  const cNew = ws.scratch(B * H).off;
  ws.heap().fill(0, HS, HS + B * H); // h0 = c0 = 0 (wasm outputs are uninitialised)
  ws.heap().fill(0, CS, CS + B * H);
  const uw = ws.asWeight(U, H, G);
  // Per step: one matmul, three light passes and two native sigmoids (tanh(a) = 2σ(2a) − 1).
  for (let k = 0; k < T; k++) {
    const t = reverse ? T - 1 - k : k;
    ws.matmul(hA, B, uw, g);
    let f = ws.heap();
    for (let bb = 0; bb < B; bb++) {
      const xo = XP + (bb * T + t) * G;
      const go = g.off + bb * G;
      for (let j = 0; j < G; j++) f[go + j] += f[xo + j] + f[BI + j];
      for (let j = 2 * H; j < 3 * H; j++) f[go + j] *= 2; // g gate: tanh via the sigmoid
    }
    ws.sigmoid(g);
    f = ws.heap();
    for (let bb = 0; bb < B; bb++) {
      const go = g.off + bb * G;
      const co = CS + (k * B + bb) * H;
      const no = cNew + bb * H;
      const to = tc.off + bb * H;
      for (let j = 0; j < H; j++) {
        const c = f[go + H + j] * f[co + j] + f[go + j] * (2 * f[go + 2 * H + j] - 1);
        f[no + j] = c;
        f[to + j] = 2 * c;
      }
    }
    ws.sigmoid(tc);
    f = ws.heap();
    for (let bb = 0; bb < B; bb++) {
      const m = f[M + bb * T + t];
      const ho = hA.off + bb * H;
      const co = CS + (k * B + bb) * H;
      const hso = HS + ((k + 1) * B + bb) * H;
      const cso = CS + ((k + 1) * B + bb) * H;
      const qo = SEQ + (bb * T + t) * H;
      const zo = Z + (k * B + bb) * 5 * H;
      if (m === 0) {
        // Padding: h and c pass through; zero gates make the backward step inert too.
        f.copyWithin(hso, ho, ho + H);
        f.copyWithin(qo, ho, ho + H);
        f.copyWithin(cso, co, co + H);
        f.fill(0, zo, zo + 5 * H);
        continue;
      }
      const go = g.off + bb * G;
      const no = cNew + bb * H;
      const to = tc.off + bb * H;
      for (let j = 0; j < H; j++) {
        const o = f[go + 3 * H + j];
        const th = 2 * f[to + j] - 1;
        const h = f[ho + j];
        const c = f[co + j];
        const hNew = h + m * (o * th - h);
        f[zo + j] = f[go + j];
        f[zo + H + j] = f[go + H + j];
        f[zo + 2 * H + j] = 2 * f[go + 2 * H + j] - 1;
        f[zo + 3 * H + j] = o;
        f[zo + 4 * H + j] = th;
        f[ho + j] = hNew;
        f[hso + j] = hNew;
        f[qo + j] = hNew;
        f[cso + j] = c + m * (f[no + j] - c);
      }
    }
  }
  return ws.finish();
};

const fusedLstmGrad: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, mask, u, hStates, cStates, gates } = required(
    inputs,
    'dy',
    'mask',
    'u',
    'hStates',
    'cStates',
    'gates',
  );
  const reverse = Boolean((attrs as { reverse?: boolean }).reverse);
  const [B, T, H] = dy.shape;
  const G = 4 * H;
  const ws = createWorkspace(backend as tf.KernelBackend);
  const DY = ws.input(dy).off;
  const M = ws.input(mask).off;
  const U = ws.input(u);
  const HS = ws.input(hStates);
  const CS = ws.input(cStates).off;
  const Z = ws.input(gates).off;
  const DXP = ws.output([B, T, G]); // batch-major, like xp
  const db = ws.output([G]);
  const du = ws.output([H, G]);
  const DG = ws.scratch(T * B * G, true); // time-major, like the states
  const dh = ws.scratch(B * H).off;
  const dc = ws.scratch(B * H).off;
  const tmp = ws.scratch(B * H, true);
  const uT = ws.scratch(G * H, true);
  ws.transpose(U, H, G, uT);
  const uTw = ws.asWeight(uT, G, H);
  for (let k = T - 1; k >= 0; k--) {
    const t = reverse ? T - 1 - k : k;
    const f = ws.heap();
    for (let b = 0; b < B; b++) {
      const m = f[M + b * T + t];
      const dho = dh + b * H;
      const dco = dc + b * H;
      const dyo = DY + (b * T + t) * H;
      const xo = DXP.off + (b * T + t) * G;
      const go = DG.off + (k * B + b) * G;
      if (m === 0) {
        for (let j = 0; j < H; j++) f[dho + j] += f[dyo + j];
        f.fill(0, xo, xo + G);
        f.fill(0, go, go + G);
        continue;
      }
      const zo = Z + (k * B + b) * 5 * H;
      const po = CS + (k * B + b) * H;
      for (let j = 0; j < H; j++) {
        const d = f[dho + j] + f[dyo + j];
        const dhNew = m * d;
        const i = f[zo + j];
        const fg = f[zo + H + j];
        const gg = f[zo + 2 * H + j];
        const o = f[zo + 3 * H + j];
        const th = f[zo + 4 * H + j];
        const dcCarried = f[dco + j];
        const dcNew = m * dcCarried + dhNew * o * (1 - th * th);
        const dai = dcNew * gg * i * (1 - i);
        const daf = dcNew * f[po + j] * fg * (1 - fg);
        const dag = dcNew * i * (1 - gg * gg);
        const dao = dhNew * th * o * (1 - o);
        f[xo + j] = dai;
        f[xo + H + j] = daf;
        f[xo + 2 * H + j] = dag;
        f[xo + 3 * H + j] = dao;
        f[go + j] = dai;
        f[go + H + j] = daf;
        f[go + 2 * H + j] = dag;
        f[go + 3 * H + j] = dao;
        f[dco + j] = dcCarried - m * dcCarried + dcNew * fg;
        f[dho + j] = d - dhNew;
      }
    }
    ws.matmul(ws.view(DG, k * B * G, B * G), B, uTw, tmp);
    const f2 = ws.heap();
    for (let i = 0; i < B * H; i++) f2[dh + i] += f2[tmp.off + i];
  }
  weightGrads(ws, { states: HS, dxp: DXP, dg: DG, db, du, dub: null }, { rows: B * T, units: H, gates: G });
  return ws.finish();
};

registerFusedKernel(FUSED_LSTM, fusedLstm);
registerFusedKernel(FUSED_LSTM_GRAD, fusedLstmGrad);
