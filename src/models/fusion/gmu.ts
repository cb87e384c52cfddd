/**
 * The Gated Multimodal Unit (Arevalo et al. 2017, eq. 1–5), for any number of modalities:
 * hᵢ = tanh(Wᵢ xᵢ), z = σ(W_z [x₁; …; xₙ]) (a softmax over modalities per unit when n > 2),
 * h = Σ zᵢ · hᵢ, then the classifier. xᵢ is each modality's branch output (normalised and,
 * by default, projected to a small size first so that no modality swamps the gate). The gate is
 * masked: an absent modality gets weight 0 and the others are renormalised.
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
  units: z.number().int().positive().default(64),
  /** What the gate reads: the branch outputs (default) or the raw inputs as in the paper. */
  gateFrom: z.enum(['branches', 'inputs']).default('branches'),
});

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
    const hs = ctx.inputs.map((input, k) =>
      b.add(
        'dense',
        [branches[k].id],
        { units: o.units, activation: 'tanh' },
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
      { units: n === 2 ? o.units : n * o.units, activation: 'linear' },
      { id: 'gmu_gate_logits', group: 'fusion' },
    );
    const gate = b.add(
      'gmu_gate',
      [...ctx.inputs.map((i) => i.id), gateLogits],
      { modalities: n, units: o.units },
      { id: GMU_GATE_NODE, group: 'fusion' },
    );
    const fused = b.add('gmu_combine', [...hs, gate], {}, { id: 'gmu', group: 'fusion' });
    const out = classifier(b, fused, o, ctx.labels.length);
    return fusionSpec(b, ctx, 'gmu', `GMU ${o.units}`, out);
  },
});
