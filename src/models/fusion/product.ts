/**
 * Product fusion: each modality projected to one common size, an absent modality replaced by a
 * learned "missing" embedding, and the projections multiplied element-wise. Where summation lets
 * each modality vote alone, the product lets one modality scale the other's features: a unit
 * fires only when both agree.
 */
import { z } from 'zod';
import { registerModel } from '../registry.js';
import { fusionAnnotator } from './gate.js';
import { SpecBuilder } from '../spec.js';
import {
  branch,
  branchOptions,
  checkBranchKeys,
  checkCommonProjection,
  classifier,
  fusionSpec,
  headOptions,
  requireFlatInputs,
} from './common.js';

export const productOptions = z.strictObject({
  ...branchOptions,
  // The product needs a common size, so the projection cannot be switched off.
  project: z.number().int().positive().default(64),
  ...headOptions,
});

registerModel('product', {
  description: 'product fusion: per-modality projections to a common size, multiplied element-wise',
  options: productOptions,
  annotate: fusionAnnotator,
  build(o, ctx) {
    requireFlatInputs(ctx, 'product', 2);
    checkBranchKeys(ctx, o);
    checkCommonProjection(o, 'the product fusion');
    const b = new SpecBuilder();
    // A zero row for an absent modality would zero the product: a learned embedding stands in.
    const parts = ctx.inputs.map((input) =>
      b.add(
        'missing_embedding',
        [input.id, branch(b, input, o, ctx).id],
        {},
        {
          id: `${input.id}_or_missing`,
          group: 'fusion',
        },
      ),
    );
    const fused = b.add('multiply', parts, {}, { id: 'fusion_product', group: 'fusion' });
    const out = classifier(b, fused, o, ctx.labels.length);
    return fusionSpec(b, ctx, 'product', `Product (projected to ${o.project})`, out);
  },
});
