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
import { registerModel, type ModelBuildContext } from '../registry.js';
import { fusionAnnotator } from './gate.js';
import { SpecBuilder } from '../spec.js';
import {
  branch,
  branchOptions,
  checkBranchKeys,
  classifier,
  fusionSpec,
  headOptions,
  rate,
  requireFlatInputs,
  warmStartSource,
  type WarmStart,
} from './common.js';

export const gmuOptions = z.strictObject({
  ...branchOptions,
  ...headOptions,
  /** Size of the GMU's hidden representation h (the paper: 512). */
  units: z.number().int().positive().optional(),
  /** Inputs whose branch output is used as hᵢ directly (no tanh(Wᵢ xᵢ)); they fix the width. */
  identity: z.array(z.string().min(1)).default([]),
  /**
   * 'input': one hᵢ = tanh(Wᵢ xᵢ) per input (two poster layers are two parts of the mix);
   * 'modality': one h per modality over its inputs' branches together (the paper's h_v over the
   * whole poster: tanh(W_v [x_pooled; x_mid])). The gate keeps a part per input; the parts of one
   * modality weigh the same h, so their sum is that modality's z, as in the paper's two-way form.
   */
  hPer: z.enum(['input', 'modality']).default('input'),
  /** What the gate reads: the branch outputs (default) or the raw inputs as in the paper. */
  gateFrom: z.enum(['branches', 'inputs']).default('branches'),
  /**
   * Each modality's initial share of h, by input id (e.g. `{ plot: 0.95 }`): the gate's bias
   * starts at the logit of it (log-shares for more than two inputs; unnamed inputs split the
   * rest). With the text model's layer kept and its classifier warm-started, training then
   * begins from the text model and the gate learns where the poster helps. Default: even.
   */
  gatePrior: z.record(z.string(), z.number().gt(0).lt(1)).default({}),
  /** 'unit': a weight per hidden unit (the paper); 'modality': one weight per modality and movie. */
  gateWidth: z.enum(['unit', 'modality']).default('unit'),
  /** Dropout on what the gate reads. */
  gateDropout: rate.default(0),
  /** Learning-rate multiplier of the gate's weights (a slower gate regularises it). */
  gateLrScale: z.number().positive().optional(),
  /**
   * Multiplier of the run's weight decay for the gate's kernel: a stronger pull towards a gate
   * that ignores the movie and keeps its prior share (the bias is not decayed). The decay per
   * step is lr · weightDecay · scale, so with lr 1e-3 and weightDecay 1e-4 a scale below ~1000
   * changes little over a run's ~2,000 steps; it must keep that product well below 1.
   */
  gateDecayScale: z.number().positive().optional(),
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
    const branches = ctx.inputs.map((input) => branch(b, input, o, ctx));
    const units = gmuUnits(
      ctx.inputs.map((i) => i.id),
      branches,
      o,
    );
    const hs = hiddenRepresentations(b, ctx.inputs, branches, o, units);
    let gateIn = b.add(
      'concat',
      o.gateFrom === 'branches' ? branches.map((br) => br.id) : ctx.inputs.map((i) => i.id),
      {},
      { id: 'gmu_gate_input', group: 'fusion' },
    );
    if (o.gateDropout > 0)
      gateIn = b.add(
        'dropout',
        [gateIn],
        { rate: o.gateDropout },
        { id: 'gmu_gate_dropout', group: 'fusion' },
      );
    const perModality = o.gateWidth === 'unit' ? units : 1;
    const bias = gateBias(
      ctx.inputs.map((i) => i.id),
      o.gatePrior,
    );
    const gateLogits = b.add(
      bias.biasInit ? 'gate_dense' : 'dense',
      [gateIn],
      { units: n === 2 ? perModality : n * perModality, activation: 'linear', ...bias },
      {
        id: 'gmu_gate_logits',
        group: 'fusion',
        ...(o.gateLrScale ? { lrScale: o.gateLrScale } : {}),
        ...(o.gateDecayScale ? { decayScale: o.gateDecayScale } : {}),
      },
    );
    const gate = b.add(
      'gmu_gate',
      [...ctx.inputs.map((i) => i.id), gateLogits],
      { modalities: n, units },
      { id: GMU_GATE_NODE, group: 'fusion' },
    );
    const fused = b.add('gmu_combine', [...hs, gate], {}, { id: 'gmu', group: 'fusion' });
    const out = classifier(b, fused, o, ctx.labels.length, gmuWarmStart(ctx, o, branches, units));
    const kept = o.identity.length > 0 ? `, ${o.identity.join(', ')} kept` : '';
    return fusionSpec(b, ctx, 'gmu', `GMU ${units}${kept}`, out);
  },
});

/** Each input's part of the mix (see GmuOptions.hPer): its kept branch, or a tanh projection. */
function hiddenRepresentations(
  b: SpecBuilder,
  inputs: { id: string; modality: string }[],
  branches: { id: string }[],
  o: GmuOptions,
  units: number,
): string[] {
  const byModality = new Map<string, string>();
  return inputs.map((input, k) => {
    if (o.identity.includes(input.id)) return branches[k].id;
    if (o.hPer === 'input')
      return b.add(
        'dense',
        [branches[k].id],
        { units, activation: 'tanh' },
        { id: `gmu_h_${input.id}`, group: 'fusion' },
      );
    const made = byModality.get(input.modality);
    if (made) return made;
    const members = inputs.flatMap((i, j) => (i.modality === input.modality ? [j] : []));
    if (members.some((j) => o.identity.includes(inputs[j].id)))
      throw new Error(
        `model.hPer 'modality': modality '${input.modality}' mixes kept (identity) and projected inputs`,
      );
    const x =
      members.length === 1
        ? branches[k].id
        : b.add(
            'concat',
            members.map((j) => branches[j].id),
            {},
            { id: `gmu_h_${input.modality}_input`, group: 'fusion' },
          );
    const h = b.add(
      'dense',
      [x],
      { units, activation: 'tanh' },
      { id: `gmu_h_${input.modality}`, group: 'fusion' },
    );
    byModality.set(input.modality, h);
    return h;
  });
}

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

/**
 * The gate's initial bias from `gatePrior` (params of its dense node): for two inputs the logit
 * of the first input's share (z is the first input's weight); for more, the log of each share
 * (a softmax over modalities per unit). Empty when no prior is given (tfjs's zero bias).
 */
export function gateBias(ids: string[], prior: Record<string, number>): { biasInit?: number[] } {
  const named = Object.keys(prior);
  if (named.length === 0) return {};
  for (const id of named)
    if (!ids.includes(id))
      throw new Error(`model.gatePrior.${id}: no input '${id}' (inputs: ${ids.join(', ')})`);
  const given = named.reduce((s, id) => s + prior[id], 0);
  const rest = ids.filter((id) => !(id in prior));
  if (given > 1 + 1e-9 || (rest.length === 0 && Math.abs(given - 1) > 1e-6))
    throw new Error(`model.gatePrior: the shares sum to ${given}; they must sum to 1 over the inputs`);
  const share = ids.map((id) => prior[id] ?? (1 - given) / rest.length);
  if (share.some((p) => p <= 0)) throw new Error('model.gatePrior: every input needs a share above 0');
  return ids.length === 2
    ? { biasInit: [Math.log(share[0] / share[1])] }
    : { biasInit: share.map((p) => Math.log(p)) };
}

/**
 * Where the warm-started classifier's source representation sits in h: the GMU reproduces the
 * source model only when that input's branch is kept as h (identity), at offset 0.
 */
function gmuWarmStart(
  ctx: ModelBuildContext,
  o: GmuOptions,
  branches: { units: number }[],
  units: number,
): WarmStart | undefined {
  if (!o.warmStart) return undefined;
  if (!o.identity.includes(o.warmStart))
    throw new Error(
      `model.warmStart: '${o.warmStart}' must also be in model.identity, so that h starts as that model's layer`,
    );
  const k = ctx.inputs.findIndex((i) => i.id === o.warmStart);
  return { ...warmStartSource(o, o.warmStart, ctx), offset: 0, width: Math.min(units, branches[k].units) };
}
