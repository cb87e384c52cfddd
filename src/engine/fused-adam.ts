/**
 * Adam in one pass per variable, updating the parameter in the backend's own memory.
 *
 * Why hand-written: tfjs' AdamOptimizer runs ~30 elementwise kernels per variable per step
 * (each allocating a temporary the size of the variable), which for a 1380→512→23 head costs
 * more than the forward and backward passes together (~10 ms of a ~18 ms step on wasm). This
 * does the same math (tfjs' epsilon, bias correction with the running β powers kept in float32
 * as tfjs keeps them) in a single JS loop over Float32Array views: the moments live in plain JS
 * arrays, the gradient is read and the parameter written in place on the wasm heap (or the cpu
 * backend's array). The trainer's decoupled weight decay is folded into the same pass.
 *
 * In-place safety: a variable whose buffer is shared (refCount > 1: a live reshape/identity/
 * clone of it, or the tensor it was assigned from) is never written in place; it gets a fresh
 * tensor through `assign`, exactly as tfjs' Adam would. On the cpu backend the array itself may
 * be a caller's (tf.tensor keeps the typed array it is given), so there the backend's entry is
 * pointed at a new array instead of overwriting the old one.
 */
import * as tf from '@tensorflow/tfjs-core';

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
  m: Float32Array;
  v: Float32Array;
  decay: number;
}

/** Backend internals this module reads (not in tfjs' public types). */
interface WasmBackendLike {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  wasm: {
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
}
interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
}

const f32 = Math.fround;

/** tfjs' NamedTensor (not exported from tfjs-core's index). */
interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

export class FusedAdam extends tf.Optimizer {
  static get className(): string {
    return 'FusedAdam';
  }

  private readonly slots: Slot[];
  private readonly byName = new Map<string, Slot>();
  private readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  /** β1^t and β2^t as float32 running products (tfjs' accBeta1/accBeta2), t = steps + 1. */
  private accBeta1: number;
  private accBeta2: number;

  constructor(
    variables: tf.Variable[],
    private readonly options: FusedAdamOptions,
  ) {
    super();
    this.lr = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? tf.backend().epsilon();
    this.accBeta1 = f32(this.beta1);
    this.accBeta2 = f32(this.beta2);
    this.slots = variables.map((variable) => {
      if (variable.dtype !== 'float32') throw new Error(`FusedAdam: ${variable.name} is not float32`);
      const slot = {
        variable,
        m: new Float32Array(variable.size),
        v: new Float32Array(variable.size),
        decay: f32(options.decay?.get(variable.name) ?? 1),
      };
      this.byName.set(variable.name, slot);
      return slot;
    });
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const pairs: Array<[string, tf.Tensor | undefined]> = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    // Constants as tfjs holds them: float32 scalars.
    const b1 = f32(this.beta1);
    const b2 = f32(this.beta2);
    const c1 = f32(1 - this.beta1);
    const c2 = f32(1 - this.beta2);
    const eps = f32(this.epsilon);
    const lr = f32(this.lr);
    const oneMinusAcc1 = f32(1 - this.accBeta1);
    const oneMinusAcc2 = f32(1 - this.accBeta2);
    for (const [name, gradient] of pairs) {
      if (gradient == null) continue;
      const slot = this.byName.get(name);
      if (!slot) throw new Error(`FusedAdam: no slot for variable ${name} (not given to the constructor)`);
      if (gradient.size !== slot.m.length) {
        throw new Error(
          `FusedAdam: gradient of ${name} has ${gradient.size} values, the variable ${slot.m.length}`,
        );
      }
      this.updateVariable(slot, gradient, { b1, b2, c1, c2, eps, lr, oneMinusAcc1, oneMinusAcc2 });
    }
    this.accBeta1 = f32(this.accBeta1 * b1);
    this.accBeta2 = f32(this.accBeta2 * b2);
    this.incrementIterations();
  }

  private updateVariable(
    slot: Slot,
    gradient: tf.Tensor,
    k: {
      b1: number;
      b2: number;
      c1: number;
      c2: number;
      eps: number;
      lr: number;
      oneMinusAcc1: number;
      oneMinusAcc2: number;
    },
  ): void {
    const backend = tf.backend();
    const variable = slot.variable;
    const shared = backend.refCount(variable.dataId) > 1;
    const g = readView(backend, gradient);
    const { m, v, decay } = slot;
    const { b1, b2, c1, c2, eps, lr, oneMinusAcc1, oneMinusAcc2 } = k;
    // Out-of-place targets: a fresh array when the buffer is shared (wasm and cpu) or on cpu.
    const wasm = isWasm(backend);
    const current = readView(backend, variable);
    const out = !shared && wasm ? current : new Float32Array(current.length);
    // Every operation rounded to float32 as tfjs' kernels round it, so the cpu backend's
    // tf.train.adam and this agree bit for bit.
    for (let i = 0; i < m.length; i++) {
      const gi = g[i];
      const mi = (m[i] = f32(f32(b1 * m[i]) + f32(c1 * gi)));
      const vi = (v[i] = f32(f32(b2 * v[i]) + f32(c2 * f32(gi * gi))));
      const mHat = f32(mi / oneMinusAcc1);
      const vHat = f32(vi / oneMinusAcc2);
      const stepped = f32(current[i] - f32(f32(mHat / f32(f32(Math.sqrt(vHat)) + eps)) * lr));
      out[i] = decay === 1 ? stepped : f32(stepped * decay);
    }
    if (out === current) {
      forgetDerivedState(backend as unknown as WasmBackendLike, variable);
      return;
    }
    if (!shared) {
      (backend as unknown as CpuBackendLike).data.get(variable.dataId).values = out;
      return;
    }
    tf.tidy(() => variable.assign(tf.tensor(out, variable.shape)));
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...this.slots.map((s) => ({ name: `${s.variable.name}/m`, tensor: tf.tensor(s.m, s.variable.shape) })),
      ...this.slots.map((s) => ({ name: `${s.variable.name}/v`, tensor: tf.tensor(s.v, s.variable.shape) })),
    ];
  }

  /** As tfjs' Adam: iterations first, then the first and the second moments; β powers recomputed. */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const moments = await this.extractIterations(weightValues);
    if (moments.length !== 2 * this.slots.length) {
      throw new Error(`FusedAdam: ${moments.length} moments for ${this.slots.length} variables`);
    }
    this.slots.forEach((s, i) => {
      s.m.set(moments[i].tensor.dataSync());
      s.v.set(moments[this.slots.length + i].tensor.dataSync());
    });
    this.accBeta1 = f32(this.beta1 ** (this.iterations + 1));
    this.accBeta2 = f32(this.beta2 ** (this.iterations + 1));
  }

  /** The exact state (β powers included, unlike getWeights), copied. */
  exportState(): AdamStateTensor[] {
    return [
      { shape: [], values: Float32Array.of(this.iterations) },
      ...this.slots.map((s) => ({ shape: s.variable.shape, values: Float32Array.from(s.m) })),
      ...this.slots.map((s) => ({ shape: s.variable.shape, values: Float32Array.from(s.v) })),
      { shape: [2], values: Float32Array.of(this.accBeta1, this.accBeta2) },
    ];
  }

  /** Restores what exportState wrote (the same layout the trainer saved from tfjs' Adam). */
  importState(state: AdamStateTensor[]): void {
    const n = this.slots.length;
    if (state.length !== 2 * n + 2)
      throw new Error(`FusedAdam: state has ${state.length} tensors, expected ${2 * n + 2}`);
    this.iterations_ = state[0].values[0];
    this.slots.forEach((s, i) => {
      for (const [target, stored] of [
        [s.m, state[1 + i]],
        [s.v, state[1 + n + i]],
      ] as const) {
        if (stored.values.length !== target.length) {
          throw new Error(
            `FusedAdam: stored moment of ${s.variable.name} has ${stored.values.length} values`,
          );
        }
        target.set(stored.values);
      }
    });
    const powers = state[2 * n + 1].values;
    this.accBeta1 = powers[0];
    this.accBeta2 = powers[1];
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
}

function isWasm(backend: tf.KernelBackend): boolean {
  return typeof (backend as unknown as Partial<WasmBackendLike>).typedArrayFromHeap === 'function';
}

/** A view of a float32 tensor's values in the backend's memory (taken fresh: the wasm heap can grow). */
function readView(backend: tf.KernelBackend, t: tf.Tensor): Float32Array {
  if (isWasm(backend)) return (backend as unknown as WasmBackendLike).typedArrayFromHeap(t);
  const values = (backend as unknown as CpuBackendLike).data?.get(t.dataId)?.values;
  if (!(values instanceof Float32Array)) throw new Error('FusedAdam: needs the wasm or the cpu backend');
  return values;
}
