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

/**
 * Tensors whose values were just overwritten in place (FusedAdam's parameters), not yet
 * multiplied since. Keyed by dataId; a WeakSet, so disposed tensors drop out by themselves.
 */
const rewritten = new WeakSet<object>();

/**
 * Marks a tensor as written in place: its next use as the right-hand operand of a plain 2-D
 * MatMul takes the transposed route (see withMaterialisedTransposes) instead of re-packing it.
 */
export function markRewritten(dataId: object): void {
  rewritten.add(dataId);
}

let transposedProducts = 0;

/** How many products took the transposed route so far (for tests and benchmarks). */
export function transposedProductCount(): number {
  return transposedProducts;
}

/** Switches the fix off and on again (for the before/after benchmark); on by default. */
export function setFastTransposedMatMul(on: boolean): void {
  enabled = on;
}

function withMaterialisedTransposes(fastKernel: KernelFunc): KernelFunc {
  return ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    if (
      enabled &&
      !transposeA &&
      !transposeB &&
      rewritten.has(b.dataId) &&
      isPlain2d(inputs) &&
      fewRows(a, b)
    ) {
      rewritten.delete(b.dataId); // a second use before the next write may as well pack and cache it
      transposedProducts++;
      return transposedProduct(fastKernel, backend, a, b);
    }
    if (!enabled || (!transposeA && !transposeB)) return fastKernel({ inputs, backend, attrs });
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

/** A BatchMatMul (not the fused one with bias/activation) of two matrices. */
function isPlain2d(inputs: tf.NamedTensorInfoMap): boolean {
  return (
    inputs.a?.shape.length === 2 &&
    inputs.b?.shape.length === 2 &&
    !inputs.bias &&
    !inputs.preluActivationWeights
  );
}

/**
 * Whether moving a (M×K) and the M×N product through transposes costs less than packing b
 * (K×N): true for a batch of 32 rows against a 1380×512 weight, false for a GRU's input
 * projection of 32×200 tokens against a 100×384 one.
 */
function fewRows(a: tf.TensorInfo, b: tf.TensorInfo): boolean {
  const [m, k] = a.shape;
  const n = b.shape[1];
  return m * (k + n) < k * n;
}

/**
 * a·b computed as (bᵀ·aᵀ)ᵀ. XNNPACK's fully-connected operator packs its right-hand operand
 * (tfjs caches the operator per tensor id), which for a 1380×512 weight rewritten every training
 * step costs more than the product itself (~5.6 ms vs 2.2 ms for a batch of 32). Swapped, the
 * packed operand is the small aᵀ and the weight is only transposed (~1.1 ms).
 */
function transposedProduct(
  fastKernel: KernelFunc,
  backend: tf.KernelBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
): tf.TensorInfo {
  const temporaries: tf.TensorInfo[] = [];
  try {
    const outT = fastKernel({
      inputs: { a: swapLastTwo(b, backend, temporaries), b: swapLastTwo(a, backend, temporaries) },
      backend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    temporaries.push(outT);
    return callKernel(tf.Transpose, backend, { x: outT }, { perm: [1, 0] });
  } finally {
    for (const t of temporaries) backend.disposeData(t.dataId);
  }
}
