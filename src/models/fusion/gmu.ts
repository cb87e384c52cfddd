/**
 * The Gated Multimodal Unit (Arevalo et al. 2017, eq. 1–5), for any number of modalities:
 * hᵢ = tanh(Wᵢ xᵢ), z = σ(W_z [x₁; …; xₙ]) (a softmax over modalities per unit when n > 2),
 * h = Σ zᵢ · hᵢ, then the classifier. xᵢ is each modality's branch output (normalised and,
 * by default, projected to a small size first so that no modality swamps the gate). The gate is
 * masked: an absent modality gets weight 0 and the others are renormalised.
 *
 * `identity: [plot]` keeps a branch's representation as it is: hᵢ = xᵢ (e.g. the frozen hidden
 * layer of the trained text MLP) instead of tanh(Wᵢ xᵢ), and the other modalities are projected
 * to its width. The gate then mixes the poster into the trained text representation per unit
 * (z → 0 gives text alone back exactly) rather than re-encoding the text from the fusion's
 * 967 training movies. The mix stays h = Σ zᵢ · hᵢ, so the gate and the exact per-genre
 * contributions of a linear head still hold (a skip connection h_gmu + h_text would not).
 */
import { z } from 'zod';
import { registerModel } from '../registry.js';
import { fusionAnnotator } from './gate.js';
import { SpecBuilder } from '../spec.js';
import {
  branch,
  branchOptions,
  checkBranchKeys,
  classifier,
  fusionSpec,
  headOptions,
  requireFlatInputs,
} from './common.js';

export const gmuOptions = z.strictObject({
  ...branchOptions,
  ...headOptions,
  /** Size of the GMU's hidden representation h (the paper: 512). */
  units: z.number().int().positive().optional(),
  /** Inputs whose branch output is used as hᵢ directly (no tanh(Wᵢ xᵢ)); they fix the width. */
  identity: z.array(z.string().min(1)).default([]),
  /** What the gate reads: the branch outputs (default) or the raw inputs as in the paper. */
  gateFrom: z.enum(['branches', 'inputs']).default('branches'),
});

export type GmuOptions = z.infer<typeof gmuOptions>;

/** Node id of the gate in every GMU spec (predictions read z from it). */
export const GMU_GATE_NODE = 'gmu_gate';

registerModel('gmu', {
  description: 'Gated Multimodal Unit: per-modality tanh projections mixed by a learned, masked gate',
  options: gmuOptions,
  annotate: fusionAnnotator,
  build(o, ctx) {
    requireFlatInputs(ctx, 'gmu', 2);
    checkBranchKeys(ctx, o);
    const b = new SpecBuilder();
    const n = ctx.inputs.length;
    const branches = ctx.inputs.map((input) => branch(b, input, o, ctx.labels));
    const units = gmuUnits(
      ctx.inputs.map((i) => i.id),
      branches,
      o,
    );
    const hs = ctx.inputs.map((input, k) =>
      o.identity.includes(input.id)
        ? branches[k].id
        : b.add(
            'dense',
            [branches[k].id],
            { units, activation: 'tanh' },
            { id: `gmu_h_${input.id}`, group: 'fusion' },
          ),
    );
    const gateIn = b.add(
      'concat',
      o.gateFrom === 'branches' ? branches.map((br) => br.id) : ctx.inputs.map((i) => i.id),
      {},
      { id: 'gmu_gate_input', group: 'fusion' },
    );
    const gateLogits = b.add(
      'dense',
      [gateIn],
      { units: n === 2 ? units : n * units, activation: 'linear' },
      { id: 'gmu_gate_logits', group: 'fusion' },
    );
    const gate = b.add(
      'gmu_gate',
      [...ctx.inputs.map((i) => i.id), gateLogits],
      { modalities: n, units },
      { id: GMU_GATE_NODE, group: 'fusion' },
    );
    const fused = b.add('gmu_combine', [...hs, gate], {}, { id: 'gmu', group: 'fusion' });
    const out = classifier(b, fused, o, ctx.labels.length);
    const kept = o.identity.length > 0 ? `, ${o.identity.join(', ')} kept` : '';
    return fusionSpec(b, ctx, 'gmu', `GMU ${units}${kept}`, out);
  },
});

/**
 * Width of h: the identity branches' common width when there are any (every other modality is
 * projected to it), else `units` (default 64). Throws on an unknown id or clashing widths.
 */
function gmuUnits(ids: string[], branches: { units: number }[], o: GmuOptions): number {
  const widths = new Set<number>();
  for (const id of o.identity) {
    const k = ids.indexOf(id);
    if (k < 0) throw new Error(`model.identity: no input '${id}' (inputs: ${ids.join(', ')})`);
    widths.add(branches[k].units);
  }
  if (o.identity.length === ids.length)
    throw new Error('model.identity: at least one input must keep its tanh(W x) encoding');
  if (widths.size > 1)
    throw new Error(`model.identity: the kept branches have different widths (${[...widths].join(', ')})`);
  const kept = widths.size === 1 ? [...widths][0] : undefined;
  if (kept !== undefined && o.units !== undefined && o.units !== kept)
    throw new Error(`model.units is ${o.units} but the kept branch (${o.identity.join(', ')}) is ${kept}-d`);
  return kept ?? o.units ?? 64;
}
