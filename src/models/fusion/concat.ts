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
  warmStartSource,
  type WarmStart,
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
    const branches = ctx.inputs.map((input) => branch(b, input, o, ctx));
    const parts = ctx.inputs.map((input, k) =>
      o.missing === 'embedding'
        ? b.add(
            'missing_embedding',
            [input.id, branches[k].id],
            {},
            { id: `${input.id}_or_missing`, group: 'fusion' },
          )
        : branches[k].id,
    );
    const fused = b.add('concat', parts, {}, { id: 'fusion_concat', group: 'fusion' });
    let warm: WarmStart | undefined;
    if (o.warmStart) {
      // The source model's rows sit where its branch sits in the concatenation.
      const k = ctx.inputs.findIndex((i) => i.id === o.warmStart);
      if (k < 0) throw new Error(`model.warmStart: no input '${o.warmStart}'`);
      const offset = branches.slice(0, k).reduce((s, br) => s + br.units, 0);
      warm = { ...warmStartSource(o, o.warmStart, ctx), offset, width: branches[k].units };
    }
    const out = classifier(b, fused, o, ctx.labels.length, warm);
    return fusionSpec(
      b,
      ctx,
      'concat',
      o.project > 0 ? `Concatenation (projected to ${o.project})` : 'Concatenation',
      out,
    );
  },
});
