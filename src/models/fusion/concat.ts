/**
 * Concatenation fusion: each modality through its branch (normalised input → projection to a
 * small size), a learned "missing" embedding in place of an absent modality, then concatenated
 * and classified. With `project: 0` it is the naive concatenation of the raw inputs.
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

export const concatOptions = z.strictObject({
  ...branchOptions,
  ...headOptions,
  /** 'embedding': a learned vector stands in for an absent modality; 'zero': its projection is zeroed. */
  missing: z.enum(['embedding', 'zero']).default('embedding'),
});

registerModel('concat', {
  description: 'concatenation fusion: per-modality projections (masked when missing), concatenated',
  options: concatOptions,
  annotate: fusionAnnotator,
  build(o, ctx) {
    requireFlatInputs(ctx, 'concat', 1);
    checkBranchKeys(ctx, o);
    const b = new SpecBuilder();
    const parts = ctx.inputs.map((input) => {
      const br = branch(b, input, o, ctx.labels);
      return o.missing === 'embedding'
        ? b.add('missing_embedding', [input.id, br.id], {}, { id: `${input.id}_or_missing`, group: 'fusion' })
        : br.id;
    });
    const fused = b.add('concat', parts, {}, { id: 'fusion_concat', group: 'fusion' });
    const out = classifier(b, fused, o, ctx.labels.length);
    return fusionSpec(
      b,
      ctx,
      'concat',
      o.project > 0 ? `Concatenation (projected to ${o.project})` : 'Concatenation',
      out,
    );
  },
});
