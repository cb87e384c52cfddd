/** The GRU's weights and outputs, shared by the fused kernel (gru.ts) and its plain-ops fallback (gru-ops.ts). */
import type * as tf from '@tensorflow/tfjs-core';

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
