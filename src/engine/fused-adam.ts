/**
 * Adam in one pass per variable, updating the parameter in the backend's own memory.
 *
 * Why hand-written: tfjs' AdamOptimizer runs ~30 elementwise kernels per variable per step
 * (each allocating a temporary the size of the variable), which for a 1380→512→23 head costs
 * more than the forward and backward passes together (~10 ms of a ~18 ms step on wasm). This
 * does the same math (tfjs' epsilon, bias correction with the running β powers kept in float32
 * as tfjs keeps them; ~1e-7 relative from it) in one pass: on wasm a SIMD loop on the backend's
 * heap (adam-simd.ts), on cpu a JS loop. The moments are backend tensors owned by the optimizer;
 * the parameter is written in place. The trainer's decoupled weight decay is folded in.
 *
 * In-place safety: a variable whose buffer is shared (refCount > 1: a live reshape/identity/
 * clone of it, or the tensor it was assigned from) first gets a private copy through `assign`,
 * so nothing else sees the write. On the cpu backend the array itself may be a caller's
 * (tf.tensor keeps the typed array it is given), so there the backend's entry is pointed at a
 * new array instead of overwriting the old one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamSimdKernel } from './adam-simd.js';
import { markRewritten } from './fix-matmul.js';

export interface FusedAdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** Defaults to the backend's epsilon (1e-7 for float32), as tfjs' Adam. */
  epsilon?: number;
  /**
   * Decoupled weight decay: a factor each named variable is multiplied by after its step
   * (1 − lr·wd); variables not in the map are not decayed.
   */
  decay?: ReadonlyMap<string, number>;
}

/** The exact optimizer state, for checkpoints: [iterations], first moments, second moments, [β1^t, β2^t]. */
export interface AdamStateTensor {
  shape: number[];
  values: Float32Array;
}

interface Slot {
  variable: tf.Variable;
  m: tf.Tensor;
  v: tf.Tensor;
  decay: number;
}

/** tfjs' NamedTensor (not exported from tfjs-core's index). */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Backend internals this module reads (not in tfjs' public types). */
interface WasmBackendLike {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  wasm: {
    asm?: { memory?: WebAssembly.Memory };
    /** The threaded build imports its (shared) memory instead of exporting it. */
    wasmMemory?: WebAssembly.Memory;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
}
interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
}

/** Per-step constants, as float32 scalars like tfjs holds them. */
interface StepConstants {
  b1: number;
  b2: number;
  c1: number;
  c2: number;
  eps: number;
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** 1 / √(1 − β2^t) */
  rootScale: number;
}

const f32 = Math.fround;

export class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return 'FusedAdam';
  }

  private readonly slots: Slot[];
  private readonly byName = new Map<string, Slot>();
  private readonly backend: tf.KernelBackend;
  private readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  /** β1^t and β2^t as float32 running products (tfjs' accBeta1/accBeta2), t = steps + 1. */
  private accBeta1: number;
  private accBeta2: number;

  /** `variables`: every variable this optimizer may update, in the order its state is saved. */
  constructor(variables: tf.Variable[], options: FusedAdamOptions) {
    super();
    this.backend = tf.backend();
    this.lr = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? this.backend.epsilon();
    this.accBeta1 = f32(this.beta1);
    this.accBeta2 = f32(this.beta2);
    this.slots = variables.map((variable) => {
      if (variable.dtype !== 'float32') throw new Error(`FusedAdam: ${variable.name} is not float32`);
      const slot = {
        variable,
        m: tf.zeros(variable.shape),
        v: tf.zeros(variable.shape),
        decay: options.decay?.get(variable.name) ?? 1,
      };
      this.byName.set(variable.name, slot);
      return slot;
    });
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    if (tf.backend() !== this.backend) {
      throw new Error('FusedAdam: the backend changed since the optimizer was made; make a new one');
    }
    const pairs: Array<[string, tf.Tensor | undefined]> = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const k: StepConstants = {
      b1: f32(this.beta1),
      b2: f32(this.beta2),
      c1: f32(1 - this.beta1),
      c2: f32(1 - this.beta2),
      eps: f32(this.epsilon),
      stepSize: f32(this.lr) / f32(1 - this.accBeta1),
      rootScale: 1 / Math.sqrt(f32(1 - this.accBeta2)),
    };
    for (const [name, gradient] of pairs) {
      if (gradient == null) continue;
      const slot = this.byName.get(name);
      if (!slot) throw new Error(`FusedAdam: no slot for variable ${name} (not given to the constructor)`);
      if (gradient.size !== slot.m.size) {
        throw new Error(
          `FusedAdam: gradient of ${name} has ${gradient.size} values, the variable ${slot.m.size}`,
        );
      }
      if (this.backend.refCount(slot.variable.dataId) > 1) unshare(slot.variable);
      if (isWasm(this.backend)) this.stepWasm(this.backend, slot, gradient, k);
      else this.stepCpu(this.backend as unknown as CpuBackendLike, slot, gradient, k);
    }
    this.accBeta1 = f32(this.accBeta1 * k.b1);
    this.accBeta2 = f32(this.accBeta2 * k.b2);
    this.incrementIterations();
  }

  private stepWasm(backend: WasmBackendLike, slot: Slot, gradient: tf.Tensor, k: StepConstants): void {
    const { variable, m, v, decay } = slot;
    const simd = adamSimdKernel(backend.wasm.asm?.memory ?? backend.wasm.wasmMemory);
    const n = variable.size;
    const vectorised = simd ? n - (n % 4) : 0;
    if (simd && vectorised > 0) {
      const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
      simd(
        at(gradient),
        at(m),
        at(v),
        at(variable),
        vectorised * 4,
        k.b1,
        k.b2,
        k.c1,
        k.c2,
        k.stepSize,
        k.rootScale,
        k.eps,
        decay,
      );
    }
    if (vectorised < n) {
      // Views taken after the kernel ran (and fresh: the heap may have grown since the last step).
      const [g, mv, vv, p] = [gradient, m, v, variable].map((t) => backend.typedArrayFromHeap(t));
      adamLoop(g, mv, vv, p, p, vectorised, n, k, decay);
    }
    forgetDerivedState(backend, variable);
  }

  private stepCpu(backend: CpuBackendLike, slot: Slot, gradient: tf.Tensor, k: StepConstants): void {
    const { variable, m, v, decay } = slot;
    const entry = backend.data.get(variable.dataId);
    const out = new Float32Array(variable.size);
    const view = (t: tf.Tensor) => backend.data.get(t.dataId).values;
    adamLoop(view(gradient), view(m), view(v), entry.values, out, 0, variable.size, k, decay);
    entry.values = out;
  }

  /**
   * Replaces both moments of `variableName` by `f` of them (same size; e.g. the layout the
   * onnxruntime step trains a kernel in). False when this optimizer does not hold the variable.
   */
  mapMoments(variableName: string, f: (moment: tf.Tensor) => tf.Tensor): boolean {
    const slot = this.byName.get(variableName);
    if (!slot) return false;
    for (const which of ['m', 'v'] as const) {
      const next = f(slot[which]);
      if (next.size !== slot.variable.size)
        throw new Error(`FusedAdam: mapped moment of ${variableName} has ${next.size} values`);
      slot[which].dispose();
      slot[which] = next;
    }
    return true;
  }

  override dispose(): void {
    tf.dispose(this.slots.flatMap((s) => [s.m, s.v]));
    super.dispose();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...this.slots.map((s) => ({ name: `${s.variable.name}/m`, tensor: s.m.clone() })),
      ...this.slots.map((s) => ({ name: `${s.variable.name}/v`, tensor: s.v.clone() })),
    ];
  }

  /** As tfjs' Adam: iterations first, then the first and the second moments; β powers recomputed. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const moments = await this.extractIterations(weightValues);
    if (moments.length !== 2 * this.slots.length) {
      throw new Error(`FusedAdam: ${moments.length} moments for ${this.slots.length} variables`);
    }
    this.importMoments((i) => moments[i].tensor.dataSync() as Float32Array);
    this.accBeta1 = f32(this.beta1 ** (this.iterations + 1));
    this.accBeta2 = f32(this.beta2 ** (this.iterations + 1));
  }

  /** The exact state (β powers included, unlike getWeights), copied. */
  exportState(): AdamStateTensor[] {
    const copy = (t: tf.Tensor) => ({ shape: t.shape, values: Float32Array.from(t.dataSync()) });
    return [
      { shape: [], values: Float32Array.of(this.iterations) },
      ...this.slots.map((s) => copy(s.m)),
      ...this.slots.map((s) => copy(s.v)),
      { shape: [2], values: Float32Array.of(this.accBeta1, this.accBeta2) },
    ];
  }

  /** Restores what exportState wrote (the same layout the trainer saved from tfjs' Adam). */
  importState(state: AdamStateTensor[]): void {
    const n = this.slots.length;
    if (state.length !== 2 * n + 2) {
      throw new Error(`FusedAdam: state has ${state.length} tensors, expected ${2 * n + 2}`);
    }
    this.iterations_ = state[0].values[0];
    this.importMoments((i) => state[1 + i].values);
    const powers = state[2 * n + 1].values;
    this.accBeta1 = powers[0];
    this.accBeta2 = powers[1];
  }

  /** Replaces the moment tensors: `valuesOf(i)` for i < n the first moments, then the second. */
  private importMoments(valuesOf: (i: number) => Float32Array): void {
    const n = this.slots.length;
    this.slots.forEach((s, i) => {
      for (const [which, values] of [
        ['m', valuesOf(i)],
        ['v', valuesOf(n + i)],
      ] as const) {
        if (values.length !== s.variable.size) {
          throw new Error(`FusedAdam: stored moment of ${s.variable.name} has ${values.length} values`);
        }
        s[which].dispose();
        s[which] = tf.tensor(Float32Array.from(values), s.variable.shape);
      }
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      learningRate: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
    };
  }
}

/**
 * Elements [from, to) of one Adam step, in double precision rounded to float32 once per stored
 * value. With m̂ = m/(1−β1^t) and √v̂ = √v/√(1−β2^t): lr·m̂/(√v̂ + ε) in one division and one root.
 */
function adamLoop(
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  param: Float32Array,
  out: Float32Array,
  from: number,
  to: number,
  k: StepConstants,
  decay: number,
): void {
  const { b1, b2, c1, c2, eps, stepSize, rootScale } = k;
  for (let i = from; i < to; i++) {
    const gi = g[i];
    const mi = b1 * m[i] + c1 * gi;
    const vi = b2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    out[i] = (param[i] - (stepSize * mi) / (Math.sqrt(vi) * rootScale + eps)) * decay;
  }
}

/** Gives `variable` a buffer of its own (a copy), so an in-place write touches nothing else. */
function unshare(variable: tf.Variable): void {
  const copy = tf.tensor(Float32Array.from(variable.dataSync()), variable.shape);
  variable.assign(copy);
  copy.dispose();
}

/**
 * The wasm backend assumes a tensor id's values never change: its MatMul caches an XNNPACK
 * operator holding the packed right-hand operand per tensor id, dropped only when the tensor is
 * disposed. After an in-place write, the id is disposed and registered again (same id, same
 * memory: the C++ side frees nothing), which runs those disposal callbacks. tfjs' own Adam
 * gives the variable a new tensor every step, so the cache was never reused for it anyway.
 */
function forgetDerivedState(backend: WasmBackendLike, variable: tf.Variable): void {
  const { id, memoryOffset } = backend.dataIdMap.get(variable.dataId);
  backend.wasm.tfjs.disposeData(id);
  backend.wasm.tfjs.registerTensor(id, variable.size, memoryOffset);
  markRewritten(variable.dataId);
}

function isWasm(backend: tf.KernelBackend): backend is tf.KernelBackend & WasmBackendLike {
  return typeof (backend as unknown as Partial<WasmBackendLike>).typedArrayFromHeap === 'function';
}
