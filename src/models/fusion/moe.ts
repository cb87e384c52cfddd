/**
 * Mixture of experts (the paper's MoE rows; Jacobs et al. 1991): one expert classifier per
 * modality and a gating network over the concatenated branches; the prediction is the gated
 * mixture of the experts' probabilities. The gate is masked: an absent modality's expert gets
 * weight 0.
 */
import { z } from 'zod';
import { registerModel } from '../registry.js';
import { fusionAnnotator } from './gate.js';
import { SpecBuilder } from '../spec.js';
import {
  activation,
  branch,
  branchOptions,
  checkBranchKeys,
  fusionSpec,
  rate,
  requireFlatInputs,
} from './common.js';

export const moeOptions = z.strictObject({
  ...branchOptions,
  /** Hidden layers of each expert (before its per-genre logits). */
  expertHidden: z.array(z.number().int().positive()).default([64]),
  expertActivation: activation.default('relu'),
  dropout: rate.default(0.5),
  /** Hidden layers of the gating network ([]: a linear gate). */
  gateHidden: z.array(z.number().int().positive()).default([]),
});

/** Node id of the gate in every MoE spec. */
export const MOE_GATE_NODE = 'moe_gate';

registerModel('moe', {
  description: 'mixture of experts: one expert per modality, mixed by a gating network (masked)',
  options: moeOptions,
  annotate: fusionAnnotator,
  build(o, ctx) {
    requireFlatInputs(ctx, 'moe', 2);
    checkBranchKeys(ctx, o);
    const b = new SpecBuilder();
    const L = ctx.labels.length;
    const branches = ctx.inputs.map((input) => branch(b, input, o, ctx));
    const experts = ctx.inputs.map((input, k) => {
      const group = `${input.id} expert`;
      let x = branches[k].id;
      o.expertHidden.forEach((units, h) => {
        x = b.add(
          'dense',
          [x],
          { units, activation: o.expertActivation },
          { id: `expert_${input.id}_hidden_${h + 1}`, group },
        );
        if (o.dropout > 0)
          x = b.add(
            'dropout',
            [x],
            { rate: o.dropout },
            { id: `expert_${input.id}_dropout_${h + 1}`, group },
          );
      });
      return b.add('dense', [x], { units: L, activation: 'linear' }, { id: `expert_${input.id}`, group });
    });
    let g = b.add(
      'concat',
      branches.map((br) => br.id),
      {},
      { id: 'moe_gate_input', group: 'gate' },
    );
    o.gateHidden.forEach((units, h) => {
      g = b.add(
        'dense',
        [g],
        { units, activation: 'relu' },
        { id: `moe_gate_hidden_${h + 1}`, group: 'gate' },
      );
    });
    g = b.add(
      'dense',
      [g],
      { units: ctx.inputs.length, activation: 'linear' },
      { id: 'moe_gate_logits', group: 'gate' },
    );
    const gate = b.add(
      'expert_gate',
      [...ctx.inputs.map((i) => i.id), g],
      {},
      { id: MOE_GATE_NODE, group: 'gate' },
    );
    const out = b.add(
      'mixture_output',
      [gate, ...experts],
      { units: L },
      { id: 'output', group: 'classifier' },
    );
    return fusionSpec(b, ctx, 'moe', 'Mixture of experts', out);
  },
});
