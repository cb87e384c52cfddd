/**
 * A forward graph in ONNX and its reverse-mode gradient, for training dense models with
 * onnxruntime (MLAS matmuls, several threads) instead of tfjs-wasm (XNNPACK on one thread).
 *
 * Why hand-written: onnxruntime-node runs inference graphs only (its training API is not in the
 * npm package), and no npm library derives ONNX gradients. The models it serves are small
 * feed-forward graphs (dense layers, elementwise gates, concatenation), so a handful of
 * primitives, each with its vector-Jacobian product written out, covers them.
 *
 * Values are rank 1 ([k]: biases, embeddings) or rank 2 ([batch, k] or [1, k], or [in, out]
 * for kernels); the batch dimension is symbolic. A value needs a gradient when it depends on
 * a parameter declared trainable; gradients flow only there.
 */
import type { OnnxGraph, OnnxNode, OnnxTensor, OnnxValue, AttrValue } from './onnx-proto.js';
import { MmgenreError } from '../util/errors.js';

/** A dimension: a number, or 'N' for the batch. */
export type Dim = number | 'N';

export interface Value {
  name: string;
  shape: Dim[];
  /** Whether a gradient must flow into it (it depends on a trainable parameter). */
  grad: boolean;
  /** A dense kernel stored transposed, [out, in] (see `dense`). */
  transposed?: boolean;
}

const BATCH = 'N';

export class GradGraph {
  private readonly nodes: OnnxNode[] = [];
  private readonly inputs: OnnxValue[] = [];
  private readonly outputs: OnnxValue[] = [];
  private readonly initializers: OnnxTensor[] = [];
  /** Backward steps, in forward order; run in reverse by `gradients`. */
  private readonly tape: Array<() => void> = [];
  /** Gradient contributions per value name. */
  private readonly contributions = new Map<string, string[]>();
  private readonly constants = new Map<string, string>();
  private counter = 0;

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  private emit(op: string, inputs: string[], hint: string, attrs?: Record<string, AttrValue>): string {
    const out = this.fresh(hint);
    this.nodes.push({ op, inputs, outputs: [out], ...(attrs ? { attrs } : {}) });
    return out;
  }

  /** A graph input (batch data, a mask, a parameter). */
  input(name: string, shape: Dim[], grad = false): Value {
    this.inputs.push({ name, shape });
    return { name, shape, grad };
  }

  /** A float32 scalar constant, shared. */
  scalar(v: number): string {
    const key = String(v);
    let name = this.constants.get(key);
    if (!name) {
      name = `const_${this.constants.size}`;
      this.initializers.push({ name, dims: [], data: Float32Array.of(v) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant as a Value (no gradient). */
  scalarValue(v: number): Value {
    return { name: this.scalar(v), shape: [], grad: false };
  }

  private int64(values: number[]): string {
    const name = this.fresh('axes');
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** Record `dy` as (part of) the gradient of `v`. */
  private accumulate(v: Value, dy: string): void {
    if (!v.grad) return;
    const list = this.contributions.get(v.name);
    if (list) list.push(dy);
    else this.contributions.set(v.name, [dy]);
  }

  /** The summed gradient of `v` (null when nothing flowed into it). */
  private gradOf(v: Value): string | null {
    const list = this.contributions.get(v.name);
    if (!list || list.length === 0) return null;
    if (list.length === 1) return list[0];
    const sum = this.emit('Sum', list, `d_${v.name}`);
    this.contributions.set(v.name, [sum]);
    return sum;
  }

  /** Push a backward step for `out` (skipped when no input needs a gradient). */
  private backward(out: Value, step: (dy: string) => void): void {
    if (!out.grad) return;
    this.tape.push(() => {
      const dy = this.gradOf(out);
      if (dy) step(dy);
    });
  }

  /** Sum `dy` (shaped like `out`) down to `target`'s shape (undo broadcasting). */
  private unbroadcast(dy: string, out: Dim[], target: Dim[]): string {
    if (target.length === 1 && out.length === 2)
      return this.emit('ReduceSum', [dy, this.int64([0])], 'unb', { keepdims: 0 });
    const axes = out.map((d, k) => (target[k] === 1 && d !== 1 ? k : -1)).filter((k) => k >= 0);
    if (target.length === 0) return this.emit('ReduceSum', [dy], 'unb', { keepdims: 0 });
    return axes.length === 0 ? dy : this.emit('ReduceSum', [dy, this.int64(axes)], 'unb', { keepdims: 1 });
  }

  /**
   * x @ W (+ b): Gemm. x [N, in], W [in, out], b [out]; or, for a W marked `transposed`, W
   * stored [out, in] (Gemm with transB). MLAS packs the right-hand operand on every call, and
   * for a batch of 32 against a 1280×512 kernel that packing is most of the product: read
   * row-major [out, in], the paper-size GMU's gradient graph took 10–20% less time per step
   * (6.0 ms vs 6.7–7.4 ms), while the weight gradient costs the same either way.
   */
  dense(x: Value, W: Value, b: Value | null): Value {
    const t = W.transposed === true;
    const inputs = b ? [x.name, W.name, b.name] : [x.name, W.name];
    const out: Value = {
      name: t
        ? this.emit('Gemm', inputs, 'dense', { transB: 1 })
        : b
          ? this.emit('Gemm', inputs, 'dense')
          : this.emit('MatMul', inputs, 'mm'),
      shape: [x.shape[0], t ? W.shape[0] : W.shape[1]],
      grad: x.grad || W.grad || (b?.grad ?? false),
    };
    this.backward(out, (dy) => {
      if (W.grad)
        this.accumulate(
          W,
          t
            ? this.emit('Gemm', [dy, x.name], 'dW', { transA: 1 })
            : this.emit('Gemm', [x.name, dy], 'dW', { transA: 1 }),
        );
      if (b?.grad) this.accumulate(b, this.emit('ReduceSum', [dy, this.int64([0])], 'db', { keepdims: 0 }));
      if (x.grad)
        this.accumulate(
          x,
          t ? this.emit('Gemm', [dy, W.name], 'dx') : this.emit('Gemm', [dy, W.name], 'dx', { transB: 1 }),
        );
    });
    return out;
  }

  /** An activation by tfjs name; the backward pass reads the output. */
  activation(x: Value, kind: string): Value {
    if (kind === 'linear') return x;
    const op = { tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu' }[kind];
    if (!op) throw new UnsupportedError(`activation '${kind}'`);
    const out: Value = { name: this.emit(op, [x.name], kind), shape: x.shape, grad: x.grad };
    this.backward(out, (dy) => {
      let local: string;
      if (kind === 'tanh') {
        const y2 = this.emit('Mul', [out.name, out.name], 'y2');
        local = this.emit('Sub', [this.scalar(1), y2], 'dtanh');
      } else if (kind === 'sigmoid') {
        const one = this.emit('Sub', [this.scalar(1), out.name], 'omy');
        local = this.emit('Mul', [out.name, one], 'dsig');
      } else {
        local = this.emit('Cast', [this.emit('Greater', [out.name, this.scalar(0)], 'pos')], 'drelu', {
          to: 1,
        });
      }
      this.accumulate(x, this.emit('Mul', [dy, local], 'dact'));
    });
    return out;
  }

  /** numpy broadcasting: right-aligned, a 1 takes the other's size. */
  private broadcastShape(a: Dim[], b: Dim[]): Dim[] {
    const rank = Math.max(a.length, b.length);
    const at = (s: Dim[], k: number): Dim => s[k - (rank - s.length)] ?? 1;
    return Array.from({ length: rank }, (_, k) => (at(a, k) === 1 ? at(b, k) : at(a, k)));
  }

  /** Elementwise a·b (broadcasting [N,k]·[N,1], [N,k]·[k], …). */
  mul(a: Value, b: Value): Value {
    const shape = this.broadcastShape(a.shape, b.shape);
    const out: Value = { name: this.emit('Mul', [a.name, b.name], 'mul'), shape, grad: a.grad || b.grad };
    this.backward(out, (dy) => {
      if (a.grad) this.accumulate(a, this.unbroadcast(this.emit('Mul', [dy, b.name], 'da'), shape, a.shape));
      if (b.grad) this.accumulate(b, this.unbroadcast(this.emit('Mul', [dy, a.name], 'db'), shape, b.shape));
    });
    return out;
  }

  /** Elementwise a + b (any number of terms, broadcasting). */
  add(...xs: Value[]): Value {
    if (xs.length === 1) return xs[0];
    const shape = xs.map((x) => x.shape).reduce((s, t) => this.broadcastShape(s, t));
    const out: Value = {
      name: this.emit(
        xs.length === 2 ? 'Add' : 'Sum',
        xs.map((x) => x.name),
        'add',
      ),
      shape,
      grad: xs.some((x) => x.grad),
    };
    this.backward(out, (dy) => {
      for (const x of xs) if (x.grad) this.accumulate(x, this.unbroadcast(dy, shape, x.shape));
    });
    return out;
  }

  /** a − b (broadcasting). */
  sub(a: Value, b: Value): Value {
    const shape = this.broadcastShape(a.shape, b.shape);
    const out: Value = { name: this.emit('Sub', [a.name, b.name], 'sub'), shape, grad: a.grad || b.grad };
    this.backward(out, (dy) => {
      if (a.grad) this.accumulate(a, this.unbroadcast(dy, shape, a.shape));
      if (b.grad) this.accumulate(b, this.unbroadcast(this.emit('Neg', [dy], 'dneg'), shape, b.shape));
    });
    return out;
  }

  /** ln x. */
  log(x: Value): Value {
    const out: Value = { name: this.emit('Log', [x.name], 'log'), shape: x.shape, grad: x.grad };
    this.backward(out, (dy) => this.accumulate(x, this.emit('Div', [dy, x.name], 'dlog')));
    return out;
  }

  /** log(1 + eˣ); its derivative is σ(x). */
  softplus(x: Value): Value {
    const out: Value = { name: this.emit('Softplus', [x.name], 'softplus'), shape: x.shape, grad: x.grad };
    this.backward(out, (dy) =>
      this.accumulate(x, this.emit('Mul', [dy, this.emit('Sigmoid', [x.name], 'sig')], 'dsoftplus')),
    );
    return out;
  }

  /** −x. */
  neg(x: Value): Value {
    const out: Value = { name: this.emit('Neg', [x.name], 'neg'), shape: x.shape, grad: x.grad };
    this.backward(out, (dy) => this.accumulate(x, this.emit('Neg', [dy], 'dneg')));
    return out;
  }

  /** log Σᵢ exp(xᵢ), elementwise over same-shaped values, shifted by their max for stability. */
  logSumExp(xs: Value[]): Value {
    const shift = this.constant('Max', xs, xs[0].shape);
    return this.add(this.log(this.add(...xs.map((x) => this.exp(this.sub(x, shift))))), shift);
  }

  /** eˣ. */
  exp(x: Value): Value {
    const out: Value = { name: this.emit('Exp', [x.name], 'exp'), shape: x.shape, grad: x.grad };
    this.backward(out, (dy) => this.accumulate(x, this.emit('Mul', [dy, out.name], 'dexp')));
    return out;
  }

  /**
   * An op whose result takes no gradient (a mask, a shift for numerical stability): the
   * caller vouches that nothing differentiable depends on it, or that the result does not
   * change with it (a softmax's shift).
   */
  constant(op: string, xs: Value[], shape: Dim[], attrs?: Record<string, AttrValue>): Value {
    return {
      name: this.emit(
        op,
        xs.map((x) => x.name),
        op.toLowerCase(),
        attrs,
      ),
      shape,
      grad: false,
    };
  }

  /** The parts of a rank-2 value along its last axis, `widths` columns each. */
  split(x: Value, widths: number[]): Value[] {
    if (widths.length === 1) return [x];
    const names = widths.map(() => this.fresh('part'));
    this.nodes.push({
      op: 'Split',
      inputs: [x.name, this.int64(widths)],
      outputs: names,
      attrs: { axis: 1 },
    });
    const parts = names.map((name, k): Value => ({ name, shape: [x.shape[0], widths[k]], grad: x.grad }));
    if (x.grad) {
      // One backward step for all parts: the tape runs in reverse, so after every consumer of a part.
      this.tape.push(() => {
        const grads = parts.map((p) => this.gradOf(p) ?? this.emit('Mul', [p.name, this.scalar(0)], 'zeros'));
        this.accumulate(x, this.emit('Concat', grads, 'dsplit', { axis: 1 }));
      });
    }
    return parts;
  }

  /** c − x for a constant c. */
  rsub(c: number, x: Value): Value {
    const out: Value = {
      name: this.emit('Sub', [this.scalar(c), x.name], 'rsub'),
      shape: x.shape,
      grad: x.grad,
    };
    this.backward(out, (dy) => this.accumulate(x, this.emit('Neg', [dy], 'dneg')));
    return out;
  }

  /** a / b (b broadcast over a). */
  div(a: Value, b: Value): Value {
    const shape = this.broadcastShape(a.shape, b.shape);
    const out: Value = { name: this.emit('Div', [a.name, b.name], 'div'), shape, grad: a.grad || b.grad };
    this.backward(out, (dy) => {
      const dyb = this.emit('Div', [dy, b.name], 'dyb');
      if (a.grad) this.accumulate(a, this.unbroadcast(dyb, shape, a.shape));
      if (b.grad) {
        const t = this.emit('Neg', [this.emit('Mul', [dyb, out.name], 'dyo')], 'ddiv');
        this.accumulate(b, this.unbroadcast(t, shape, b.shape));
      }
    });
    return out;
  }

  /** max(x, c) for a constant c: the gradient flows where x > c (tfjs' rule for ties: to x when x ≥ c). */
  maxConst(x: Value, c: number): Value {
    const out: Value = {
      name: this.emit('Max', [x.name, this.scalar(c)], 'max'),
      shape: x.shape,
      grad: x.grad,
    };
    this.backward(out, (dy) => {
      const keep = this.emit('Cast', [this.emit('GreaterOrEqual', [x.name, this.scalar(c)], 'ge')], 'keep', {
        to: 1,
      });
      this.accumulate(x, this.emit('Mul', [dy, keep], 'dmax'));
    });
    return out;
  }

  /**
   * Maxout over `pieces` groups of a [N, pieces·units] value (group p of unit u at column
   * p·units + u, as tfjs' Dense → Reshape [pieces, units] → GlobalMaxPooling1D lays it out).
   * The gradient goes to every piece equal to the maximum (tfjs' rule for max).
   */
  maxout(x: Value, pieces: number, units: number): Value {
    const grouped = this.emit('Reshape', [x.name, this.int64([0, pieces, units])], 'pieces');
    const max3 = this.emit('ReduceMax', [grouped], 'max3', { axes: [1], keepdims: 1 });
    const out: Value = {
      name: this.emit('Reshape', [max3, this.int64([0, units])], 'maxout'),
      shape: [x.shape[0], units],
      grad: x.grad,
    };
    this.backward(out, (dy) => {
      const winners = this.emit('Cast', [this.emit('Equal', [grouped, max3], 'eq')], 'winners', { to: 1 });
      const dy3 = this.emit('Reshape', [dy, this.int64([0, 1, units])], 'dy3');
      const dpieces = this.emit('Mul', [winners, dy3], 'dpieces');
      this.accumulate(x, this.emit('Reshape', [dpieces, this.int64([0, pieces * units])], 'dmaxout'));
    });
    return out;
  }

  /** Concatenation along the last axis of rank-2 values. */
  concat(xs: Value[]): Value {
    if (xs.length === 1) return xs[0];
    const widths = xs.map((x) => x.shape[1]);
    if (widths.some((w) => typeof w !== 'number')) throw new UnsupportedError('concat of a symbolic width');
    const out: Value = {
      name: this.emit(
        'Concat',
        xs.map((x) => x.name),
        'concat',
        { axis: 1 },
      ),
      shape: [xs[0].shape[0], (widths as number[]).reduce((s, w) => s + w, 0)],
      grad: xs.some((x) => x.grad),
    };
    this.backward(out, (dy) => {
      const parts = xs.map((x) => this.fresh(`dsplit_${x.name}`));
      this.nodes.push({
        op: 'Split',
        inputs: [dy, this.int64(widths as number[])],
        outputs: parts,
        attrs: { axis: 1 },
      });
      xs.forEach((x, k) => this.accumulate(x, parts[k]));
    });
    return out;
  }

  /**
   * The mean sigmoid cross-entropy on logits z [N, L] against y, with per-label positive
   * weights w ([L]; null: 1): mean((1−y)·softplus(z) + w·y·softplus(−z)), as the trainer's
   * tfjs loss. Its gradient, (σ(z)·(1 − y + w·y) − w·y) / (N·L), seeds the backward pass;
   * `invCount` is a scalar input holding 1 / (N·L). Returns the loss value's name.
   */
  sigmoidCrossEntropy(z: Value, y: Value, w: Value | null, invCount: Value): string {
    const wy = w ? this.emit('Mul', [y.name, w.name], 'wy') : y.name;
    const c = this.emit('Add', [this.emit('Sub', [this.scalar(1), y.name], 'omy'), wy], 'c');
    // softplus(−z) = softplus(z) − z, so the loss is c·softplus(z) − w·y·z.
    const perElement = this.emit(
      'Sub',
      [
        this.emit('Mul', [c, this.emit('Softplus', [z.name], 'sp')], 'csp'),
        this.emit('Mul', [wy, z.name], 'wyz'),
      ],
      'ce',
    );
    const loss = this.emit(
      'Mul',
      [this.emit('ReduceSum', [perElement], 'sum', { keepdims: 0 }), invCount.name],
      'loss',
    );
    const dz = this.emit(
      'Mul',
      [
        this.emit('Sub', [this.emit('Mul', [this.emit('Sigmoid', [z.name], 's'), c], 'sc'), wy], 'g'),
        invCount.name,
      ],
      'dz',
    );
    this.accumulate(z, dz);
    return loss;
  }

  /** Run the tape backwards; returns each asked value's gradient name (null: none flowed). */
  gradients(of: Value[]): Array<string | null> {
    for (let k = this.tape.length - 1; k >= 0; k--) this.tape[k]();
    this.tape.length = 0;
    return of.map((v) => this.gradOf(v));
  }

  /** The sum of every element of the value named `name`, as a new scalar value (no gradient). */
  reduceSum(name: string): string {
    return this.emit('ReduceSum', [name], 'sum', { keepdims: 0 });
  }

  /** Mark a graph output. */
  output(name: string, shape: Dim[]): void {
    this.outputs.push({ name, shape });
  }

  /**
   * Give an internal value a graph output's name, so that outputs have stable names whatever
   * node made them. The producing node's output is renamed (not copied by an Identity node):
   * onnxruntime then writes a graph output straight into the caller's preallocated buffer,
   * which for the gradients of a large model saves a copy of every weight each step.
   */
  alias(from: string, to: string): void {
    const producer = this.nodes.find((n) => n.outputs.includes(from));
    if (!producer || this.outputs.some((o) => o.name === from)) {
      this.nodes.push({ op: 'Identity', inputs: [from], outputs: [to] });
      return;
    }
    for (const n of this.nodes) {
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
    }
    for (const list of this.contributions.values()) list.forEach((c, k) => c === from && (list[k] = to));
  }

  build(name: string): OnnxGraph {
    return {
      name,
      inputs: this.inputs,
      outputs: this.outputs,
      nodes: this.nodes,
      initializers: this.initializers,
      opset: 13,
    };
  }
}

/** A model part the ONNX training path cannot express (the trainer falls back to tfjs). */
export class UnsupportedError extends MmgenreError {
  constructor(what: string) {
    super('unsupported', `not supported by the onnxruntime training path: ${what}`);
  }
}

export { BATCH };
