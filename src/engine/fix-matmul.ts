import * as tf from '@tensorflow/tfjs-core';
import { callKernel, overrideKernel, type KernelFunc } from './kernel-override.js';

/**
 * tfjs-backend-wasm 4.22 runs BatchMatMul (and _FusedMatMul) through XNNPACK only when neither
 * operand is transposed; with transposeA/transposeB it falls back to a naive loop ~15× slower.
 * Every Dense backward pass multiplies by a transposed operand, so training suffers. Materialising
 * the transpose with the (fast, cache-blocked) Transpose kernel and then taking the fast path is
 * far cheaper than the slow loop: O(n·k) copy versus an O(n·k·m) product.
 */
export function installFastTransposedMatMul(backendName = 'wasm'): string[] {
  const installed: string[] = [];
  for (const kernelName of [tf.BatchMatMul, tf._FusedMatMul]) {
    if (!tf.getKernel(kernelName, backendName)) continue;
    overrideKernel(kernelName, backendName, (previous) => withMaterialisedTransposes(previous!));
    installed.push(kernelName);
  }
  return installed;
}

let enabled = true;

/** Switches the fix off and on again (for the before/after benchmark); on by default. */
export function setFastTransposedMatMul(on: boolean): void {
  enabled = on;
}

function withMaterialisedTransposes(fastKernel: KernelFunc): KernelFunc {
  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!enabled || (!transposeA && !transposeB)) return fastKernel({ inputs, backend, attrs });
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const temporaries: tf.TensorInfo[] = [];
    const plainA = transposeA ? swapLastTwo(a, backend, temporaries) : a;
    const plainB = transposeB ? swapLastTwo(b, backend, temporaries) : b;
    try {
      return fastKernel({
        inputs: { ...inputs, a: plainA, b: plainB },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

function swapLastTwo(
  x: tf.TensorInfo,
  backend: tf.KernelBackend,
  temporaries: tf.TensorInfo[],
): tf.TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  const out = callKernel(tf.Transpose, backend, { x }, { perm });
  temporaries.push(out);
  return out;
}
