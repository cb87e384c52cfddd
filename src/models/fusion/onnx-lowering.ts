/**
 * The fusion ops in the onnxruntime training graph (see ../onnx-lowering.ts), written as the
 * layers of ./layers.ts compute them, so that both engines train the same function.
 */
import { BATCH, UnsupportedError, type Value } from '../../engine/onnx-autodiff.js';
import type { LayerNode } from '../spec.js';
import { lowerDense, lowerNode, registerLowering, single, type LoweringContext } from '../onnx-lowering.js';

/** Dense whose bias started at the prior: in training, a plain dense layer. */
registerLowering('gate_dense', (ctx) => lowerDense(ctx, ctx.node.id, 'linear'));

/**
 * GmuGate for two modalities: z = σ(g), the weights (z, 1 − z), each times its modality's
 * presence m₁, m₂ and renormalised (the layer divides by max(sum, 1e-6)). For presences in
 * {0, 1} that is, with a = m₁·m₂: w₁ = a·z + (m₁ − a), w₂ = m₂ − a·z (both present: z, 1 − z;
 * one present: 1 for it, 0 for the other; none: 0, 0) — the same values in a third of the ops.
 * A one-column g (gateWidth 'modality') broadcasts over the units where the weights are used.
 * More modalities (a masked softmax) train with tfjs.
 */
registerLowering('gmu_gate', (ctx) => {
  const n = ctx.node.params.modalities as number;
  const { g } = ctx;
  const present = ctx.node.inputs.slice(0, n).map((id) => ctx.presence(id));
  const logits = single(ctx.inputs[n], ctx.node);
  if (n === 2) {
    const [m1, m2] = present;
    const z = g.activation(logits, 'sigmoid');
    const both = g.mul(m1, m2);
    const az = g.mul(z, both);
    return [g.add(az, g.sub(m1, both)), g.sub(m2, az)];
  }
  return maskedSoftmax(ctx, logits, present);
});

/**
 * More than two modalities: a softmax over the modalities per unit, an absent modality's
 * logits lowered by 1e9 first (as the layer does), then times its presence. The layer's final
 * renormalisation divides by 1 (up to rounding) when any modality is present and leaves zeros
 * when none is, so it is left out.
 */
function maskedSoftmax(ctx: LoweringContext, logits: Value, present: Value[]): Value[] {
  const { g } = ctx;
  const n = present.length;
  const width = logits.shape[1];
  if (typeof width !== 'number' || width % n !== 0)
    throw new UnsupportedError(`node '${ctx.node.id}': gate logits of shape [${logits.shape}]`);
  const parts = g.split(
    logits,
    Array.from({ length: n }, () => width / n),
  );
  const masked = parts.map((p, i) => {
    const offset = g.constant(
      'Mul',
      [g.constant('Sub', [present[i], g.scalarValue(1)], [BATCH, 1]), g.scalarValue(1e9)],
      [BATCH, 1],
    );
    return g.add(p, offset);
  });
  // The shift for a stable exp takes no gradient: the softmax does not change with it.
  const shift = g.constant('Max', masked, masked[0].shape);
  const e = masked.map((l) => g.exp(g.sub(l, shift)));
  const total = g.add(...e);
  return e.map((ei, i) => g.mul(g.div(ei, total), present[i]));
}

/** h = Σ wᵢ ⊙ hᵢ over the gate's parts. */
registerLowering('gmu_combine', (ctx) => {
  const hs = ctx.inputs.slice(0, -1).map((v) => single(v, ctx.node));
  const ws = ctx.inputs[ctx.inputs.length - 1];
  if (!Array.isArray(ws) || ws.length !== hs.length)
    throw new UnsupportedError(
      `node '${ctx.node.id}': the gate's parts do not match its ${hs.length} inputs`,
    );
  return ctx.g.add(...hs.map((h, k) => ctx.g.mul(ws[k], h)));
});

/** m·p + (1 − m)·e: the projection where the modality is present, the learned embedding where not. */
registerLowering('missing_embedding', (ctx) => {
  const { g } = ctx;
  const m = ctx.presence(ctx.node.inputs[0]);
  const p = single(ctx.inputs[1], ctx.node);
  const [embedding] = ctx.weights(ctx.node.id);
  return g.add(g.mul(m, p), g.mul(g.rsub(1, m), embedding));
});

/** The mixture-of-experts gate: a masked softmax over the experts per movie ([N, n] → n parts). */
registerLowering('expert_gate', (ctx) => {
  const n = ctx.node.inputs.length - 1;
  const present = ctx.node.inputs.slice(0, n).map((id) => ctx.presence(id));
  return maskedSoftmax(ctx, single(ctx.inputs[n], ctx.node), present);
});

/**
 * The logits of p = Σᵢ gᵢ σ(lᵢ), as MixtureLogits computes them:
 * LSE(log(gᵢ + 1e-12) − softplus(−lᵢ)) − LSE(log(gᵢ + 1e-12) − softplus(lᵢ)).
 */
registerLowering('mixture_output', (ctx) => {
  const { g } = ctx;
  const gate = ctx.inputs[0];
  const experts = ctx.inputs.slice(1).map((v) => single(v, ctx.node));
  if (!Array.isArray(gate) || gate.length !== experts.length)
    throw new UnsupportedError(
      `node '${ctx.node.id}': the gate's parts do not match its ${experts.length} experts`,
    );
  const logGate = gate.map((gi) => g.log(g.add(gi, g.scalarValue(1e-12))));
  const pos = experts.map((l, i) => g.sub(logGate[i], g.softplus(g.neg(l))));
  const neg = experts.map((l, i) => g.sub(logGate[i], g.softplus(l)));
  return g.sub(g.logSumExp(pos), g.logSumExp(neg));
});

/** A layer copied from a trained run: its source op, built under this node's id (as the tfjs op does). */
registerLowering('pretrained_layer', (ctx) => {
  const source = ctx.node.params.source as unknown as LayerNode;
  return lowerNode({
    ...ctx,
    node: { ...source, id: ctx.node.id, inputs: ctx.node.inputs, frozen: ctx.node.frozen },
  });
});
