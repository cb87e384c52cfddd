import * as tf from '@tensorflow/tfjs-core';

/**
 * Shared machinery of the fused recurrent kernels (gru.ts, lstm.ts). A recurrent layer run as
 * tfjs ops costs ~12 engine ops per time step forward and ~20 backward, and on this backend the
 * per-op overhead, not the arithmetic, dominates. The fused kernels instead run the whole
 * recurrence inside ONE registered kernel per direction: per step, h·U goes straight to the wasm
 * backend's XNNPACK matmul (the function tfjs's own BatchMatMul kernel calls, addressed by tensor
 * ids, bypassing the tfjs engine), and the gate arithmetic is a plain loop over the wasm heap.
 * Written by hand because no library offers fused RNN kernels for tfjs-backend-wasm.
 *
 * The same kernel code runs on the cpu backend over a JS arena with a JS matmul: slow, but it
 * lets the tests check the wasm path against an independent backend.
 */

/** A float32 buffer inside the workspace's heap: `off` in floats; `id` the wasm tensor id (0 on cpu). */
export interface HeapBuffer {
  off: number;
  size: number;
  id: number;
}

/** A weight matrix [inner, cols] that per-step matmuls multiply by. */
export interface MatMulWeight {
  buf: HeapBuffer;
  inner: number;
  cols: number;
}

/**
 * Memory and native ops for one kernel call. Buffers are float offsets into `heap()`; re-read
 * `heap()` after any allocation or native call (wasm memory may grow, e.g. while XNNPACK packs a
 * new weight, which detaches old views).
 */
export interface RnnWorkspace {
  input(t: tf.TensorInfo): HeapBuffer;
  output(shape: number[]): HeapBuffer;
  /** Scratch memory, zero-filled; `native` when `matmul` or `sigmoid` will address it. */
  scratch(size: number, native?: boolean): HeapBuffer;
  /**
   * A native part of a buffer (`size` floats from `offset`) as a buffer of its own, e.g. one time
   * step of a time-major array as a matmul operand.
   */
  view(buf: HeapBuffer, offset: number, size: number): HeapBuffer;
  /** `buf` (native: an input, an output or native scratch) seen as a [inner, cols] weight. */
  asWeight(buf: HeapBuffer, inner: number, cols: number): MatMulWeight;
  heap(): Float32Array;
  /** out[rows, w.cols] = a[rows, w.inner] · w; `a` and `out` must be native scratch. */
  matmul(a: HeapBuffer, rows: number, w: MatMulWeight, out: HeapBuffer): void;
  /** buf ← σ(buf) over the whole (native scratch) buffer. */
  sigmoid(buf: HeapBuffer): void;
  /** dst[cols, rows] = src[rows, cols]ᵀ (both native). */
  transpose(src: HeapBuffer, rows: number, cols: number, dst: HeapBuffer): void;
  /** Frees the scratch memory and returns the outputs as tensor infos, in allocation order. */
  finish(): tf.TensorInfo[];
}

type WasmModule = {
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
};

type WasmBackend = tf.KernelBackend & {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
};

type CpuBackend = tf.KernelBackend & {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.BackendValues): tf.TensorInfo;
};

/** The workspace for whichever backend the kernel was called on. */
export function createWorkspace(backend: tf.KernelBackend): RnnWorkspace {
  if ('wasm' in backend && (backend as WasmBackend).wasm?.HEAPF32)
    return new WasmWorkspace(backend as WasmBackend);
  if ('makeTensorInfo' in backend) return new ArenaWorkspace(backend as CpuBackend);
  throw new Error('fused RNN kernels support the wasm and cpu backends only');
}

type NativeFns = {
  batchMatMul: (...args: unknown[]) => void;
  sigmoid: (x: number, out: number) => void;
  transpose: (...args: unknown[]) => void;
};
const nativeFns = new WeakMap<WasmModule, NativeFns>();

/** Wasm: buffers live in the backend's heap; matmuls call XNNPACK through the BatchMatMul export. */
class WasmWorkspace implements RnnWorkspace {
  private readonly wasm: WasmModule;
  private readonly outputs: tf.TensorInfo[] = [];
  private readonly mallocs: number[] = [];
  private readonly ids: number[] = [];
  private readonly fns: NativeFns;

  constructor(private readonly backend: WasmBackend) {
    this.wasm = backend.wasm;
    let fns = nativeFns.get(this.wasm);
    if (!fns) {
      // The C signatures tfjs's own BatchMatMul and Sigmoid kernels bind: tensor ids, shapes as
      // int32 arrays, transposes. Sigmoid runs at ~2 ns/element against ~20 for Math.exp in JS.
      const batchMatMul = this.wasm.cwrap('BatchMatMul', null, [
        'number',
        'array',
        'number',
        'number',
        'array',
        'number',
        'number',
        'number',
        'number',
      ]);
      const sigmoid = this.wasm.cwrap('Sigmoid', null, ['number', 'number']);
      // x id, x shape, rank, dtype (0 = float32), out id, perm, perm length.
      const transpose = this.wasm.cwrap('Transpose', null, [
        'number',
        'array',
        'number',
        'number',
        'number',
        'array',
        'number',
      ]);
      fns = { batchMatMul, sigmoid, transpose };
      nativeFns.set(this.wasm, fns);
    }
    this.fns = fns;
  }

  input(t: tf.TensorInfo): HeapBuffer {
    const { id, memoryOffset } = this.backend.dataIdMap.get(t.dataId);
    return { off: memoryOffset >>> 2, size: tf.util.sizeFromShape(t.shape), id };
  }

  output(shape: number[]): HeapBuffer {
    const info = this.backend.makeOutput(shape, 'float32');
    this.outputs.push(info);
    return this.input(info);
  }

  scratch(size: number, native = false): HeapBuffer {
    const ptr = this.wasm._malloc(Math.max(1, size) * 4) >>> 0;
    this.mallocs.push(ptr);
    this.wasm.HEAPF32.fill(0, ptr >>> 2, (ptr >>> 2) + size);
    let id = 0;
    if (native) {
      // A tensor id of our own (taken from the backend's counter, so it never collides) lets the
      // C matmul address this memory; released in finish() without freeing twice.
      id = this.backend.dataIdNextNumber++;
      this.wasm.tfjs.registerTensor(id, size, ptr);
      this.ids.push(id);
    }
    return { off: ptr >>> 2, size, id };
  }

  view(buf: HeapBuffer, offset: number, size: number): HeapBuffer {
    const id = this.backend.dataIdNextNumber++;
    const off = buf.off + offset;
    this.wasm.tfjs.registerTensor(id, size, off * 4);
    this.ids.push(id);
    return { off, size, id };
  }

  asWeight(buf: HeapBuffer, inner: number, cols: number): MatMulWeight {
    return { buf, inner, cols };
  }

  heap(): Float32Array {
    return this.wasm.HEAPF32;
  }

  transpose(src: HeapBuffer, rows: number, cols: number, dst: HeapBuffer): void {
    this.fns.transpose(src.id, shape2(rows, cols), 2, 0, dst.id, PERM_SWAP, 2);
  }

  matmul(a: HeapBuffer, rows: number, w: MatMulWeight, out: HeapBuffer): void {
    // XNNPACK's fully-connected path needs batch dim 1 and no transposes (see fix-matmul.ts).
    this.fns.batchMatMul(
      a.id,
      shapeBytes(1, rows, w.inner),
      3,
      w.buf.id,
      shapeBytes(1, w.inner, w.cols),
      3,
      0,
      0,
      out.id,
    );
  }

  sigmoid(buf: HeapBuffer): void {
    this.fns.sigmoid(buf.id, buf.id);
  }

  finish(): tf.TensorInfo[] {
    // Disposing the ids also drops the XNNPACK operators cached on temporary weights.
    for (const id of this.ids) this.wasm.tfjs.disposeData(id);
    for (const ptr of this.mallocs) this.wasm._free(ptr);
    this.ids.length = 0;
    this.mallocs.length = 0;
    return this.outputs;
  }
}

const PERM_SWAP = new Uint8Array(new Int32Array([1, 0]).buffer);
function shape2(rows: number, cols: number): Uint8Array {
  return new Uint8Array(new Int32Array([rows, cols]).buffer);
}

const shapeCache = new Map<string, Uint8Array>();
function shapeBytes(a: number, b: number, c: number): Uint8Array {
  const key = `${a},${b},${c}`;
  let bytes = shapeCache.get(key);
  if (!bytes) {
    bytes = new Uint8Array(new Int32Array([a, b, c]).buffer);
    if (shapeCache.size > 4096) shapeCache.clear();
    shapeCache.set(key, bytes);
  }
  return bytes;
}

/** Cpu: one JS arena holding copies of the inputs, the outputs and the scratch; JS matmul. */
class ArenaWorkspace implements RnnWorkspace {
  private size = 0;
  private arena: Float32Array | null = null;
  private readonly copies: Array<{ buf: HeapBuffer; values: tf.TypedArray }> = [];
  private readonly outputs: Array<{ buf: HeapBuffer; shape: number[] }> = [];

  constructor(private readonly backend: CpuBackend) {}

  private reserve(size: number): HeapBuffer {
    const buf = { off: this.size, size, id: 0 };
    this.size += size;
    if (this.arena) {
      // Growing invalidates earlier heap() views, as wasm memory growth does.
      const grown = new Float32Array(this.size);
      grown.set(this.arena);
      this.arena = grown;
    }
    return buf;
  }

  input(t: tf.TensorInfo): HeapBuffer {
    const buf = this.reserve(tf.util.sizeFromShape(t.shape));
    this.copies.push({ buf, values: this.backend.readSync(t.dataId) as tf.TypedArray });
    return buf;
  }

  output(shape: number[]): HeapBuffer {
    const buf = this.reserve(tf.util.sizeFromShape(shape));
    this.outputs.push({ buf, shape });
    return buf;
  }

  scratch(size: number): HeapBuffer {
    return this.reserve(size);
  }

  view(buf: HeapBuffer, offset: number, size: number): HeapBuffer {
    return { off: buf.off + offset, size, id: 0 };
  }

  asWeight(buf: HeapBuffer, inner: number, cols: number): MatMulWeight {
    return { buf, inner, cols };
  }

  transpose(src: HeapBuffer, rows: number, cols: number, dst: HeapBuffer): void {
    transposeInto(this.heap(), src.off, rows, cols, dst.off);
  }

  heap(): Float32Array {
    if (!this.arena) {
      this.arena = new Float32Array(this.size);
      for (const { buf, values } of this.copies) this.arena.set(values, buf.off);
    }
    return this.arena;
  }

  matmul(a: HeapBuffer, rows: number, w: MatMulWeight, out: HeapBuffer): void {
    const f = this.heap();
    const { inner, cols } = w;
    for (let i = 0; i < rows; i++) {
      const o = out.off + i * cols;
      f.fill(0, o, o + cols);
      for (let k = 0; k < inner; k++) {
        const aik = f[a.off + i * inner + k];
        if (aik === 0) continue;
        const wk = w.buf.off + k * cols;
        for (let j = 0; j < cols; j++) f[o + j] += aik * f[wk + j];
      }
    }
  }

  sigmoid(buf: HeapBuffer): void {
    const f = this.heap();
    for (let i = buf.off; i < buf.off + buf.size; i++) f[i] = sigmoid(f[i]);
  }

  finish(): tf.TensorInfo[] {
    const f = this.heap();
    return this.outputs.map(({ buf, shape }) =>
      this.backend.makeTensorInfo(shape, 'float32', f.slice(buf.off, buf.off + buf.size)),
    );
  }
}

/** Writes the transpose of the [rows, cols] matrix at `src` into `dst` ([cols, rows]). */
export function transposeInto(f: Float32Array, src: number, rows: number, cols: number, dst: number): void {
  for (let i = 0; i < rows; i++) {
    const s = src + i * cols;
    for (let j = 0; j < cols; j++) f[dst + j * rows + i] = f[s + j];
  }
}

const FUSED_BACKENDS = ['wasm', 'cpu'];

/** Whether the current backend runs the fused kernels (others use the op-by-op versions). */
export function hasFusedKernels(): boolean {
  return FUSED_BACKENDS.includes(tf.getBackend());
}

/** Registers a kernel on the wasm and cpu backends (once; later calls are no-ops). */
export function registerFusedKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  for (const backendName of FUSED_BACKENDS) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
  }
}

/** The logistic function (for x ≪ 0, Math.exp(-x) = Infinity gives exactly 0, no NaN). */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Buffers of a fused RNN's backward pass that the shared weight gradients read and write. */
export interface WeightGradBuffers {
  /** States, time-major rows k·B + b; the first `rows` rows are the states before each step. */
  states: HeapBuffer;
  /** Gradients of the pre-activations: of x·W + b (batch-major rows), of h·U + ub (rows like states). */
  dxp: HeapBuffer;
  dg: HeapBuffer;
  /** Outputs: db [G], dU [units, G], dub [G] (dub is null when the cell has one bias). */
  db: HeapBuffer;
  du: HeapBuffer;
  dub: HeapBuffer | null;
}

/**
 * The weight gradients every fused RNN shares, once its per-step backward pass has produced the
 * pre-activation gradients: dU as one big matmul over all steps on XNNPACK, the bias gradients
 * as matmuls by a row of ones (which reuse the packed operand). dW and dx are left to tfjs's
 * matMul gradient outside the kernel, which computes dx only when something upstream trains.
 */
export function weightGrads(
  ws: RnnWorkspace,
  buf: WeightGradBuffers,
  dims: { rows: number; units: number; gates: number },
): void {
  const { rows, units: H, gates: G } = dims;
  const ones = ws.scratch(rows, true);
  const sT = ws.scratch(H * rows, true);
  ws.heap().fill(1, ones.off, ones.off + rows);
  ws.matmul(ones, 1, ws.asWeight(buf.dxp, rows, G), buf.db); // db = Σ_rows dxp
  const dg = ws.asWeight(buf.dg, rows, G);
  ws.transpose(buf.states, rows, H, sT);
  ws.matmul(sT, H, dg, buf.du); // dU = Σ_t h_{t−1}ᵀ · dg_t
  if (buf.dub) ws.matmul(ones, 1, dg, buf.dub);
}

/*
 * The shape plumbing around a fused recurrence, the same for the GRU and the LSTM.
 */

/** Glorot-uniform matrix [fanIn, fanOut] (seeded). */
export function glorotUniform(fanIn: number, fanOut: number, seed: number): tf.Tensor2D {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform([fanIn, fanOut], -limit, limit, 'float32', seed) as tf.Tensor2D;
}

/**
 * Every step's x·W in one matmul, [batch, time, width]. Kept outside the fused op on purpose:
 * tfjs's matMul gradient then computes dx only when something upstream trains (frozen
 * embeddings skip it).
 */
export function projectInputs(x: tf.Tensor3D, kernel: tf.Tensor2D): tf.Tensor3D {
  const [batch, time, inputDim] = x.shape;
  const width = kernel.shape[1];
  return tf.reshape(tf.matMul(tf.reshape(x, [batch * time, inputDim]), kernel), [batch, time, width]);
}

/** The float mask the kernels read (1 = token, 0 = padding); all ones when there is no padding. */
export function floatMask(mask: tf.Tensor2D | null, batch: number, time: number): tf.Tensor2D {
  return mask ? tf.cast(mask, 'float32') : tf.ones([batch, time]);
}

/** The final state: the last step read, i.e. time−1 forward and 0 in reverse. */
export function lastState(sequence: tf.Tensor3D, reverse: boolean): tf.Tensor2D {
  const [batch, time, units] = sequence.shape;
  const step = reverse ? 0 : time - 1;
  return tf.reshape(tf.slice(sequence, [0, step, 0], [batch, 1, units]), [batch, units]);
}

/** [last forward state, last backward state] of a recurrence run both ways, [batch, 2·units]. */
export function bidirectionalLast<W>(
  run: (x: tf.Tensor3D, mask: tf.Tensor2D | null, w: W, opts: { reverse?: boolean }) => { last: tf.Tensor2D },
  x: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  forward: W,
  backward: W,
): tf.Tensor2D {
  return tf.tidy(() => {
    const f = run(x, mask, forward, {});
    const b = run(x, mask, backward, { reverse: true });
    return tf.concat([f.last, b.last], 1) as tf.Tensor2D;
  });
}
