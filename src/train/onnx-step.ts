/**
 * The gradient half of a training step on onnxruntime: the model's forward pass, the trainer's
 * loss and the gradients of the trainable weights, compiled once into an ONNX graph
 * (src/models/onnx-lowering.ts) and run by onnxruntime-node, whose MLAS matmuls on several
 * threads are 2–4× faster than tfjs-wasm's XNNPACK on one for the dense heads and fusions.
 *
 * The weights stay tfjs variables (the model that is evaluated, saved and served): each step the
 * graph reads them straight from the wasm heap and writes the gradients into tfjs tensors that
 * the trainer's FusedAdam then applies, so checkpoints, resume and the optimizer are unchanged.
 * Dropout masks are drawn by the caller from the trainer's seeded stream.
 */
import { env } from '../env.js';
import { isMainThread } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type * as Ort from 'onnxruntime-node';
import { tf } from '../engine/index.js';
import { GradGraph, UnsupportedError, type Value } from '../engine/onnx-autodiff.js';
import { lowerNode, single, type Lowered } from '../models/onnx-lowering.js';
import '../models/fusion/onnx-lowering.js';
import type { LayersModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';
import { encodeOnnxModel } from '../engine/onnx-proto.js';
import type { FusedAdam } from '../engine/fused-adam.js';

export { UnsupportedError };

/** A dropout site of the graph: the caller feeds a mask [batch, width] per step. */
export interface DropoutSite {
  rate: number;
  width: number;
}

interface Param {
  input: string;
  variable: tf.Variable;
  /** With gradientOutputs 'summed': the output holding the gradient's sum. */
  sumOutput?: string;
  /** A dense kernel the graph reads transposed ([out, in]) while training. */
  transposed: boolean;
  /** Output name of its gradient (trainable weights only). */
  gradOutput?: string;
  grad?: tf.Tensor;
}

/** Wasm backend internals read here (not in tfjs' public types): the tensor's bytes on the heap. */
interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * Intra-op threads of the training session: MMGENRE_ORT_THREADS, else every core in the main
 * thread and 1 in a worker thread (run-all and `train --seeds` already run one model per core).
 */
export function onnxTrainingThreads(): number {
  const set = env.engines.ortThreads;
  if (set !== undefined && Number.isInteger(set) && set > 0) return set;
  return isMainThread ? Math.max(1, Math.min(availableParallelism(), 8)) : 1;
}

export interface OnnxStepOptions {
  /** Per-label positive weights of the loss (null: none). */
  posWeight: Float32Array | null;
  /**
   * 'transposed' (default): trained dense kernels are held [out, in] while training, which
   * onnxruntime multiplies faster (see GradGraph.dense); the caller brackets the steps with
   * `useTrainingLayout` / `useModelLayout`. 'model': tfjs' own [in, out], nothing to switch.
   */
  kernelLayout?: 'transposed' | 'model';
  /**
   * For benchmarks only: 'summed' computes every gradient but returns only each one's sum (so
   * `grads` stay zero), which measures what onnxruntime-node charges for handing the gradients
   * back (it copies every output into a new ArrayBuffer). Default 'returned'.
   */
  gradientOutputs?: 'returned' | 'summed';
  /** Intra-op threads (default `onnxTrainingThreads()`). */
  threads?: number;
  /**
   * For benchmarks only: onnxruntime times every kernel of every run and writes the profile
   * (JSON) at `endProfiling()`, to a file whose name starts with this prefix.
   */
  profileFilePrefix?: string;
}

export class OnnxTrainingStep {
  /** Per-step dropout masks to feed, in order. */
  readonly dropout: DropoutSite[];
  /** The gradient of each trained variable, by variable name (filled by `run`). */
  readonly grads: tf.NamedTensorMap = {};
  private readonly buffers = new Map<string, Float32Array>();
  private layout: 'model' | 'training' = 'model';

  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly params: Param[],
    dropout: DropoutSite[],
    /** Inputs whose presence per row the graph reads. */
    private readonly presenceOf: number[],
    /** Each input's width. */
    private readonly dims: number[],
    private readonly labels: number,
    private readonly posWeight: Float32Array | null,
  ) {
    this.dropout = dropout;
    for (const p of params) if (p.grad) this.grads[p.variable.name] = p.grad;
  }

  /**
   * Compile `spec` (whose tfjs layers are `model`'s) for training `trainable`. Throws
   * UnsupportedError when a part of the model has no ONNX lowering (sequence inputs, maxout,
   * a mixture of experts…): the trainer then trains with tfjs.
   */
  static async compile(
    spec: ModelSpec,
    model: LayersModel,
    trainable: tf.Variable[],
    opts: OnnxStepOptions,
  ): Promise<OnnxTrainingStep> {
    if (tf.getBackend() !== 'wasm') throw new UnsupportedError(`the '${tf.getBackend()}' backend`);
    const g = new GradGraph();
    const trained = new Set(trainable.map((v) => v.name));
    const raw = new Map<string, Value>();
    const dims = spec.inputs.map((input, k) => {
      if (input.source.kind !== 'features' || input.dtype !== 'float32' || input.shape.length !== 1)
        throw new UnsupportedError(`input '${input.id}' (${input.source.kind}, shape [${input.shape}])`);
      raw.set(input.id, g.input(`x${k}`, ['N', input.shape[0]]));
      return input.shape[0];
    });
    const params: Param[] = [];
    const byLayer = new Map<string, { values: Value[]; denseKernel: boolean }>();
    const transpose = (opts.kernelLayout ?? 'transposed') === 'transposed';
    const weights = (layerName: string, how?: { denseKernel?: boolean }): Value[] => {
      const denseKernel = how?.denseKernel === true;
      const seen = byLayer.get(layerName);
      if (seen) {
        if (seen.denseKernel !== denseKernel)
          throw new UnsupportedError(`layer '${layerName}' read both as a dense layer and otherwise`);
        return seen.values;
      }
      let layer;
      try {
        layer = model.getLayer(layerName);
      } catch {
        throw new UnsupportedError(`no tfjs layer '${layerName}'`);
      }
      const values = layer.weights.map((w, k) => {
        const variable = w.read() as tf.Variable;
        const input = `p${params.length}`;
        const grad = trained.has(variable.name);
        // Only trained kernels switch layout: frozen ones may be shared with another model.
        const transposed = transpose && denseKernel && k === 0 && grad && variable.shape.length === 2;
        params.push({ input, variable, transposed });
        const value = g.input(input, transposed ? [...variable.shape].reverse() : variable.shape, grad);
        return transposed ? { ...value, transposed } : value;
      });
      byLayer.set(layerName, { values, denseKernel });
      return values;
    };
    const dropout: DropoutSite[] = [];
    const present = new Map<number, Value>();
    const values = new Map<string, Lowered>(raw);
    for (const node of spec.nodes) {
      values.set(
        node.id,
        lowerNode({
          g,
          node,
          spec,
          inputs: node.inputs.map((id) => {
            const v = values.get(id);
            if (!v) throw new UnsupportedError(`node '${node.id}' reads '${id}' before it is made`);
            return v;
          }),
          weights,
          presence: (id) => {
            const k = spec.inputs.findIndex((i) => i.id === id);
            if (k < 0) throw new UnsupportedError(`node '${node.id}': '${id}' is not a model input`);
            let v = present.get(k);
            if (!v) present.set(k, (v = g.input(`present${k}`, ['N', 1])));
            return v;
          },
          dropoutMask: (rate, width) => {
            dropout.push({ rate, width });
            return g.input(`mask${dropout.length - 1}`, ['N', width]);
          },
        }),
      );
    }
    const outputNode = spec.nodes.find((n) => n.id === spec.output);
    // Both output ops lower to the logits (the saved model's sigmoid comes after them).
    if (outputNode?.op !== 'output' && outputNode?.op !== 'mixture_output')
      throw new UnsupportedError(`output op '${outputNode?.op}'`);
    const logits = single(values.get(spec.output)!, outputNode);
    const L = spec.labels.length;
    const y = g.input('y', ['N', L]);
    const w = opts.posWeight ? g.input('pos_weight', [L]) : null;
    const invCount = g.input('inv_count', []);
    g.alias(g.sigmoidCrossEntropy(logits, y, w, invCount), 'loss');
    g.output('loss', []);
    const paramValues = params.map((p) => ({
      name: p.input,
      shape: p.variable.shape,
      grad: trained.has(p.variable.name),
    }));
    const gradNames = g.gradients(paramValues);
    params.forEach((p, k) => {
      const grad = gradNames[k];
      if (!paramValues[k].grad || !grad) return;
      p.gradOutput = `grad_${p.input}`;
      g.alias(grad, p.gradOutput);
      g.output(p.gradOutput, graphShape(p));
      if (opts.gradientOutputs === 'summed') {
        p.sumOutput = `sum_${p.input}`;
        g.alias(g.reduceSum(p.gradOutput), p.sumOutput);
        g.output(p.sumOutput, []);
      }
      p.grad = tf.zeros(p.variable.shape);
    });
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(encodeOnnxModel(g.build(`${spec.family}_training`)), {
      intraOpNumThreads: opts.threads ?? onnxTrainingThreads(),
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      logSeverityLevel: 3,
      ...(opts.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profileFilePrefix } : {}),
      // Spinning workers help only an idle machine; on a busy one they steal the cores (measured).
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    } as Ort.InferenceSession.SessionOptions);
    return new OnnxTrainingStep(ort, session, params, dropout, [...present.keys()], dims, L, opts.posWeight);
  }

  /**
   * One batch: `x` the inputs' rows ([n, dim] each, row-major), `y` the labels as 0/1 floats
   * [n, L], `masks` one per dropout site. Fills `grads` and returns the batch's mean loss.
   */
  async run(x: Float32Array[], y: Float32Array, n: number, masks: Float32Array[]): Promise<number> {
    const { ort } = this;
    const T = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims);
    const feeds: Record<string, Ort.Tensor> = {
      y: T(y, [n, this.labels]),
      inv_count: T(Float32Array.of(1 / (n * this.labels)), []),
    };
    x.forEach((rows, k) => (feeds[`x${k}`] = T(rows, [n, this.dims[k]])));
    masks.forEach((m, k) => (feeds[`mask${k}`] = T(m, [n, this.dropout[k].width])));
    for (const k of this.presenceOf) feeds[`present${k}`] = T(rowPresence(x[k], n, this.dims[k]), [n, 1]);
    if (this.posWeight) feeds.pos_weight = T(this.posWeight, [this.labels]);
    // Views of the heap taken now: it may have grown (and moved) since the last step.
    const heap = tf.backend() as unknown as HeapBackend;
    const loss = new Float32Array(1);
    const fetches: Record<string, Ort.Tensor | null> = { loss: T(loss, []) };
    // tfjs' threaded build (MMGENRE_WASM_THREADS) keeps its heap in a SharedArrayBuffer, which
    // onnxruntime-node refuses ("Invalid argument"): there the weights and gradients go through
    // private staging copies instead.
    const staged: Array<[Float32Array, Float32Array]> = [];
    const view = (t: tf.Tensor, name: string, isOutput: boolean): Float32Array => {
      const onHeap = heap.typedArrayFromHeap(t);
      if (!(onHeap.buffer instanceof SharedArrayBuffer)) return onHeap;
      const copy = this.scratch(name, onHeap.length);
      if (isOutput) staged.push([copy, onHeap]);
      else copy.set(onHeap);
      return copy;
    };
    if (this.layout !== 'training' && this.params.some((p) => p.transposed))
      throw new Error(
        'OnnxTrainingStep.run: call useTrainingLayout() first (the kernels are in tfjs layout)',
      );
    for (const p of this.params) {
      feeds[p.input] = T(view(p.variable, p.input, false), graphShape(p));
      if (p.sumOutput) fetches[p.sumOutput] = null;
      else if (p.grad && p.gradOutput)
        fetches[p.gradOutput] = T(view(p.grad, p.gradOutput, true), graphShape(p));
    }
    const out = await this.session.run(feeds, fetches);
    for (const [copy, onHeap] of staged) onHeap.set(copy);
    // The binding fills the given output buffers; read the loss from the result to be safe.
    return (out.loss.data as Float32Array)[0];
  }

  /**
   * Puts the transposed kernels (and their moments in `optimizers`) in the layout the graph
   * reads, [out, in] in the variable's own shape: between this and `useModelLayout` the model
   * must not be evaluated, saved or read. `grads` are always in the training layout, which is
   * all an elementwise optimizer needs. Idempotent.
   */
  useTrainingLayout(optimizers: readonly FusedAdam[]): void {
    if (this.layout === 'training') return;
    this.switchLayout(optimizers, (shape) => shape);
    this.layout = 'training';
  }

  /** Back to tfjs' layout, [in, out], for evaluation, checkpoints and the saved model. Idempotent. */
  useModelLayout(optimizers: readonly FusedAdam[]): void {
    if (this.layout === 'model') return;
    this.switchLayout(optimizers, (shape) => [...shape].reverse());
    this.layout = 'model';
  }

  /** `name`'s gradient in tfjs' layout (a new tensor): for comparisons with tfjs' gradients. */
  gradInModelLayout(name: string): tf.Tensor | undefined {
    const p = this.params.find((q) => q.variable.name === name);
    if (!p?.grad) return undefined;
    return p.transposed ? transposeStored(p.grad, [...p.variable.shape].reverse()) : p.grad.clone();
  }

  /** Transposes every switched kernel and its moments, read as `from(shape)` now. */
  private switchLayout(optimizers: readonly FusedAdam[], from: (shape: number[]) => number[]): void {
    for (const p of this.params) {
      if (!p.transposed) continue;
      const shape = from(p.variable.shape);
      const next = transposeStored(p.variable, shape);
      p.variable.assign(next);
      next.dispose();
      for (const o of optimizers) o.mapMoments(p.variable.name, (m) => transposeStored(m, shape));
    }
  }

  /**
   * A reusable buffer of `length` floats for per-batch inputs (labels, masks): a step allocates
   * nothing that the garbage collector must chase. Valid until the next call with this name.
   */
  scratch(name: string, length: number): Float32Array {
    let buf = this.buffers.get(name);
    if (!buf || buf.length < length) this.buffers.set(name, (buf = new Float32Array(length)));
    return buf.subarray(0, length);
  }

  /** Writes the kernel profile asked for by `profileFilePrefix` (onnxruntime names the file). */
  endProfiling(): void {
    this.session.endProfiling();
  }

  dispose(): void {
    tf.dispose(this.params.flatMap((p) => (p.grad ? [p.grad] : [])));
    void this.session.release();
  }
}

/** The shape a parameter has in the graph: [out, in] for a transposed kernel. */
function graphShape(p: Param): number[] {
  return p.transposed ? [...p.variable.shape].reverse() : p.variable.shape;
}

/** `t`'s values read as a `shape` matrix, transposed, in `t`'s own shape (a new tensor). */
function transposeStored(t: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(t, shape)), t.shape));
}

/** 1 for each row of `x` ([n, dim]) with a non-zero value, else 0 (a missing input is all zeros). */
function rowPresence(x: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    for (let i = r * dim, end = i + dim; i < end; i++) {
      if (x[i] !== 0) {
        out[r] = 1;
        break;
      }
    }
  }
  return out;
}
