import * as tf from '@tensorflow/tfjs-core';

/** A kernel function as tfjs-core calls it (inputs, backend, attrs). */
export type KernelFunc = tf.KernelFunc;

/**
 * Replaces (or adds) the `backendName` kernel for `kernelName`, handing the replacement the
 * previous implementation so that it can delegate to it. The previous kernel's setupFunc (which
 * binds its wasm function when the backend initialises) is carried over, so installing a fix
 * before or after backend initialisation both work.
 */
export function overrideKernel(
  kernelName: string,
  backendName: string,
  make: (previous: KernelFunc | undefined) => KernelFunc,
): void {
  const previous = tf.getKernel(kernelName, backendName);
  if (previous) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    kernelName,
    backendName,
    kernelFunc: make(previous?.kernelFunc),
    setupFunc: previous?.setupFunc,
    disposeFunc: previous?.disposeFunc,
  });
}

/** Registers a kernel only where the backend has none (a missing-kernel fix). */
export function addMissingKernel(kernelName: string, backendName: string, kernelFunc: KernelFunc): boolean {
  if (tf.getKernel(kernelName, backendName)) return false;
  tf.registerKernel({ kernelName, backendName, kernelFunc });
  return true;
}

/** Calls another registered kernel of the same backend directly (no tape, no engine bookkeeping). */
export function callKernel(
  kernelName: string,
  backend: tf.KernelBackend,
  inputs: tf.NamedTensorInfoMap,
  attrs: tf.NamedAttrMap = {},
): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, backendNameOf(backend));
  if (!kernel) throw new Error(`kernel ${kernelName} is not registered for this backend`);
  return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

function backendNameOf(backend: tf.KernelBackend): string {
  for (const name of ['wasm', 'cpu']) {
    if (tf.engine().registry[name] === backend) return name;
  }
  throw new Error('unknown backend instance');
}

/** What the hand-written kernels need from a backend: wasm has makeOutput, cpu makeTensorInfo. */
export type DataBackend = tf.KernelBackend & {
  makeOutput?(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.BackendValues,
  ): tf.TensorInfo;
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values?: tf.BackendValues): tf.TensorInfo;
};

/** A new backend tensor holding a copy of `values` (a kernel output or a temporary). */
export function makeTensor(
  backend: DataBackend,
  shape: number[],
  dtype: tf.DataType,
  values: tf.BackendValues,
): tf.TensorInfo {
  if (backend.makeOutput) return backend.makeOutput(shape, dtype, undefined, values);
  if (backend.makeTensorInfo) return backend.makeTensorInfo(shape, dtype, values);
  throw new Error('backend can neither makeOutput nor makeTensorInfo');
}

/** The kernel's named inputs, all required (tfjs types them as optional). */
export function required<K extends string>(
  inputs: tf.NamedTensorInfoMap,
  ...names: K[]
): Record<K, tf.TensorInfo> {
  const out = {} as Record<K, tf.TensorInfo>;
  for (const name of names) {
    const t = inputs[name];
    if (!t) throw new Error(`kernel input '${name}' is missing`);
    out[name] = t;
  }
  return out;
}
