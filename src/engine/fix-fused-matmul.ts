import * as tf from '@tensorflow/tfjs-core';

type FusedMatMul = typeof tf.fused.matMul;
type FusedMatMulArgs = Parameters<FusedMatMul>[0];

let original: FusedMatMul | null = null;

/**
 * tfjs-core's `fused.matMul` (every tfjs-layers Dense goes through it) keeps the fused kernel
 * while gradients are recorded when the activation is linear, and its hand-written gradient then
 * computes the derivative for *both* operands — also dL/dx for a layer fed by input features,
 * which nothing uses: for a 1380→512 GMU gate that is a wasted 32×512 · 512×1380 product (and a
 * transpose of the weight) per step. While recording, this computes the same thing unfused
 * (matMul, then add the bias), whose registered gradients are taken only for the operands that
 * need them. Outside gradient recording (inference) the fused kernel stays. Returns whether it
 * was installed now (it replaces a property of tfjs-core's `fused` object, once).
 */
export function installLazyFusedMatMulGradients(): boolean {
  if (original) return false;
  const fused = tf.fused as { matMul: FusedMatMul };
  const fusedMatMul = fused.matMul;
  original = fusedMatMul;
  fused.matMul = (args: FusedMatMulArgs) => {
    const { a, b, transposeA = false, transposeB = false, bias, activation = 'linear' } = args;
    if (tf.engine().state.gradientDepth === 0 || activation !== 'linear' || args.preluActivationWeights) {
      return fusedMatMul(args);
    }
    return tf.tidy(() => {
      const product = tf.matMul(a, b, transposeA, transposeB);
      return bias == null ? product : tf.add(product, bias);
    });
  };
  return true;
}
