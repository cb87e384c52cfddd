/**
 * Summation fusion (the TMDB study's second fusion): each modality projected to one common
 * size, an absent modality replaced by a learned "missing" embedding, and the projections added.
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
  checkCommonProjection,
  classifier,
  fusionSpec,
  headOptions,
  requireFlatInputs,
} from './common.js';

export const sumOptions = z.strictObject({
  ...branchOptions,
  // Summation needs a common size, so the projection cannot be switched off.
  project: z.number().int().positive().default(64),
  ...headOptions,
  missing: z.enum(['embedding', 'zero']).default('embedding'),
  /** Activation after the sum ('linear': none). */
  sumActivation: activation.default('linear'),
});

registerModel('sum', {
  description: 'summation fusion: per-modality projections to a common size, added',
  options: sumOptions,
  annotate: fusionAnnotator,
  build(o, ctx) {
    requireFlatInputs(ctx, 'sum', 1);
    checkBranchKeys(ctx, o);
    checkCommonProjection(o, 'summation');
    const b = new SpecBuilder();
    const parts = ctx.inputs.map((input) => {
      const br = branch(b, input, o, ctx);
      return o.missing === 'embedding'
        ? b.add('missing_embedding', [input.id, br.id], {}, { id: `${input.id}_or_missing`, group: 'fusion' })
        : br.id;
    });
    let fused = b.add('add', parts, {}, { id: 'fusion_sum', group: 'fusion' });
    if (o.sumActivation !== 'linear')
      fused = b.add(
        'activation',
        [fused],
        { activation: o.sumActivation },
        { id: 'fusion_activation', group: 'fusion' },
      );
    const out = classifier(b, fused, o, ctx.labels.length);
    return fusionSpec(b, ctx, 'sum', `Summation (projected to ${o.project})`, out);
  },
});
