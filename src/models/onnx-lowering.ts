/**
 * How each spec op is written as an ONNX training graph (src/engine/onnx-autodiff.ts): a second
 * table beside ops.ts, so that the onnxruntime training path covers the dense families (heads,
 * fusions) and a model with any other op trains with tfjs as before. The weights stay tfjs
 * variables; a lowering asks for a tfjs layer's weights by name and gets graph inputs.
 */
import { GradGraph, UnsupportedError, type Value } from '../engine/onnx-autodiff.js';
import type { LayerNode, ModelSpec } from './spec.js';

/** A node's result: one value, or several parts (e.g. the GMU gate's per-modality weights). */
export type Lowered = Value | Value[];

export interface LoweringContext {
  g: GradGraph;
  node: LayerNode;
  inputs: Lowered[];
  spec: ModelSpec;
  /**
   * The weights of the tfjs layer `layerName`, in its order (kernel, bias, …), as graph inputs.
   * `denseKernel`: the first weight is a dense kernel that `g.dense` reads, which the step may
   * store transposed (its Value says so; only `g.dense` may read such a kernel).
   */
  weights(layerName: string, opts?: { denseKernel?: boolean }): Value[];
  /**
   * 1 where the movie has model input `id` (its row is not all zero: how a missing modality
   * reads, see fusion/layers.ts), else 0; [N, 1], no gradient. Fed per batch by the step.
   */
  presence(id: string): Value;
  /** A dropout mask input for this node ([N, width]; kept entries hold 1/(1 − rate)). */
  dropoutMask(rate: number, width: number): Value;
}

export type Lowering = (ctx: LoweringContext) => Lowered;

const lowerings = new Map<string, Lowering>();

export function registerLowering(op: string, lower: Lowering): void {
  lowerings.set(op, lower);
}

export function lowerNode(ctx: LoweringContext): Lowered {
  const lower = lowerings.get(ctx.node.op);
  if (!lower) throw new UnsupportedError(`op '${ctx.node.op}' (node '${ctx.node.id}')`);
  return lower(ctx);
}

export function single(v: Lowered, node: LayerNode): Value {
  if (Array.isArray(v)) throw new UnsupportedError(`node '${node.id}' reads a multi-part value`);
  return v;
}

const activationOf = (node: LayerNode): string => (node.params.activation as string | undefined) ?? 'linear';

/** Dense layer `layerName` (tfjs' kernel [in, out] and bias) then its activation. */
export function lowerDense(ctx: LoweringContext, layerName: string, activation: string): Value {
  const [kernel, bias] = ctx.weights(layerName, { denseKernel: true });
  const x = single(ctx.inputs[0], ctx.node);
  return ctx.g.activation(ctx.g.dense(x, kernel, bias ?? null), activation);
}

registerLowering('dense', (ctx) => lowerDense(ctx, ctx.node.id, activationOf(ctx.node)));
registerLowering('output', (ctx) => lowerDense(ctx, `${ctx.node.id}_logits`, 'linear'));
registerLowering('maxout', (ctx) => {
  const units = ctx.node.params.units as number;
  const pieces = (ctx.node.params.pieces as number | undefined) ?? 2;
  return ctx.g.maxout(lowerDense(ctx, `${ctx.node.id}_linear`, 'linear'), pieces, units);
});
registerLowering('activation', (ctx) =>
  ctx.g.activation(single(ctx.inputs[0], ctx.node), activationOf(ctx.node)),
);
registerLowering('concat', (ctx) => ctx.g.concat(ctx.inputs.map((v) => single(v, ctx.node))));
registerLowering('add', (ctx) => ctx.g.add(...ctx.inputs.map((v) => single(v, ctx.node))));
registerLowering('multiply', (ctx) =>
  ctx.inputs.map((v) => single(v, ctx.node)).reduce((product, x) => ctx.g.mul(product, x)),
);
registerLowering('dropout', (ctx) => {
  const x = single(ctx.inputs[0], ctx.node);
  const rate = ctx.node.params.rate as number;
  if (rate <= 0) return x;
  const width = x.shape[1];
  if (typeof width !== 'number') throw new UnsupportedError(`dropout on a value of shape [${x.shape}]`);
  return ctx.g.mul(x, ctx.dropoutMask(rate, width));
});
