/**
 * Late fusion: trained unimodal runs (the experts, one per input) each predict on their own
 * modality; their probabilities are averaged, or combined with per-genre weights learned on
 * dev. Absent modalities drop out of the average (the weights are renormalised over present
 * experts). This is the family (its options, spec and the combination); it is not one tfjs
 * model, so train/late-fusion.ts trains it (finds the expert runs, fits the weights) and
 * runs/late-run.ts reads a finished one.
 */
import { z } from 'zod';
import { registerOp } from '../ops.js';
import { registerModel } from '../registry.js';
import { OUTPUT_OPS, SpecBuilder, type ModelSpec } from '../spec.js';
import { fusionSpec } from './common.js';

export const lateOptions = z.strictObject({
  /** 'average': equal weights; 'weighted': per-genre weights fitted on dev (log-loss). */
  mode: z.enum(['average', 'weighted']).default('average'),
  /** Input id → the config of its expert run (shipped name or path), trained first if absent. */
  experts: z.record(z.string(), z.string().min(1)),
});
export type LateOptions = z.infer<typeof lateOptions>;

const notBuildable = (what: string) => (): never => {
  throw new Error(`${what}: late fusion combines trained runs and is not built as one tfjs model`);
};
registerOp('trained_run', {
  build: notBuildable('trained_run'),
  describe: (n) => `Trained run '${String(n.params.run)}' (frozen): genre probabilities`,
});
registerOp('late_combine', {
  build: notBuildable('late_combine'),
  describe: (n) =>
    n.params.mode === 'weighted'
      ? `Weighted average per genre (weights fitted on dev) · ${String(n.params.units)} genres`
      : `Average of probabilities · ${String(n.params.units)} genres`,
});
OUTPUT_OPS.add('late_combine');

/** Combine expert probabilities (each n × L) with per-genre weights, masking absent experts. */
export function combineLate(
  probs: Float32Array[],
  missing: Uint8Array[],
  weights: number[][],
  n: number,
  L: number,
): Float32Array {
  const out = new Float32Array(n * L);
  for (let r = 0; r < n; r++) {
    const anyPresent = missing.some((m) => !m[r]);
    for (let j = 0; j < L; j++) {
      let num = 0;
      let den = 0;
      probs.forEach((p, k) => {
        if (anyPresent && missing[k][r]) return;
        num += weights[k][j] * p[r * L + j];
        den += weights[k][j];
      });
      out[r * L + j] = den > 0 ? num / den : 0;
    }
  }
  return out;
}

/** The spec of a late fusion: one frozen trained run per input, then the combination. */
export function lateSpec(o: LateOptions, labels: string[], inputs: ModelSpec['inputs']): ModelSpec {
  const b = new SpecBuilder();
  const experts = inputs.map((i) =>
    b.add(
      'trained_run',
      [i.id],
      { run: o.experts[i.id] ?? '?' },
      { id: `expert_${i.id}`, group: `${i.id} expert`, frozen: true },
    ),
  );
  const out = b.add(
    'late_combine',
    experts,
    { units: labels.length, mode: o.mode },
    { id: 'output', group: 'fusion' },
  );
  return fusionSpec(
    b,
    { labels, inputs },
    'late',
    o.mode === 'weighted' ? 'Late fusion (weighted per genre)' : 'Late fusion (average)',
    out,
  );
}

/** An expert is absent for a movie when every one of its inputs is. */
export function expertMissing(perInput: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n).fill(1);
  for (const m of perInput) for (let i = 0; i < n; i++) out[i] &= m[i];
  return out;
}

registerModel('late', {
  description: 'late fusion: average (or per-genre weighted average) of trained unimodal runs',
  options: lateOptions,
  build(o, ctx) {
    for (const i of ctx.inputs)
      if (!o.experts[i.id]) throw new Error(`model.experts: no expert run for input '${i.id}'`);
    return lateSpec(o, ctx.labels, ctx.inputs);
  },
});
