/**
 * Feature extraction into the cache, the entry points: computes only the chunks that are missing
 * or stale, on worker threads, and reads the finished matrix back as a view. Killed at any point,
 * the next run resumes from the chunks on disk and produces the same bytes (chunk boundaries and
 * encoder batches never depend on which worker or which run computed them). The parts: plan.ts
 * (what is to do), pool.ts (computing chunks), fill.ts (one entry, start to finish),
 * extract-report.ts (the report).
 */
import type { Dataset } from '../data/types.js';
import { jointGroupOf, type EncoderSpec } from './registry.js';
import { readManifest, readMatrix, readSequences, type FeatureManifest } from './store.js';
import type { FeatureMatrix, SequenceFeatures } from './types.js';
import { MmgenreError } from '../util/errors.js';
import { planDense, planSequences, staleChunks, type Plan } from './plan.js';
import { runPlans } from './fill.js';
import { extractCommand } from './extract-command.js';
import type { ExtractOptions } from './extract-options.js';
import type { ExtractReport } from './extract-report.js';

export type { ExtractOptions, ChunkJob, ChunkRunner } from './extract-options.js';
export type { ChunkSlot } from './plan.js';
export { groupMissing, type ExtractReport, type MissingReason } from './extract-report.js';
export { extractCommand } from './extract-command.js';
export type { RecomputeReason, RecomputedChunks } from './recompute.js';

export interface ExtractResult {
  features: FeatureMatrix;
  report: ExtractReport;
}

/** Compute (what is missing of) an encoder's features for every record of a dataset. */
export async function extractFeatures(
  dataset: Dataset,
  encoder: EncoderSpec,
  opts: ExtractOptions = {},
): Promise<FeatureMatrix> {
  return (await extractFeaturesWithReport(dataset, encoder, opts)).features;
}

export async function extractFeaturesWithReport(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const t0 = performance.now();
  const plan = await planDense(dataset, spec, opts);
  const [report] = await runPlans(dataset, [plan], opts, t0);
  const m = readManifest(plan.dir)!;
  return { features: readMatrix(plan.dir, m, false), report };
}

/**
 * Several encoders' features at once, one result per spec in order. Variants of one encoder that
 * it can compute in one pass (two layers of one network on the same image: see
 * EncoderFactory.jointGroup) are computed together, each poster read and run through the network
 * once for all of them; their cache entries are the same as those of one-by-one extraction.
 */
export async function extractFeatureSet(
  dataset: Dataset,
  specs: EncoderSpec[],
  opts: ExtractOptions = {},
): Promise<ExtractResult[]> {
  const t0 = performance.now();
  const plans: Plan[] = [];
  for (const spec of specs) plans.push(await planDense(dataset, spec, opts));
  // The same entry asked for twice is computed once.
  const byDir = new Map<string, number>();
  const groups = new Map<string, number[]>();
  plans.forEach((plan, k) => {
    if (byDir.has(plan.dir)) {
      plan.ready?.dispose();
      return;
    }
    byDir.set(plan.dir, k);
    // A queue (runner) computes one entry per job: no joining there.
    const joint = opts.runner ? null : jointGroupOf(plan.encoderName, plan.options);
    const key = joint === null ? `#${k}` : JSON.stringify([plan.encoderName, joint]);
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  const reports = new Map<number, ExtractReport>();
  for (const members of groups.values()) {
    const rs = await runPlans(
      dataset,
      members.map((k) => plans[k]),
      opts,
      t0,
    );
    members.forEach((k, j) => reports.set(k, rs[j]));
  }
  return plans.map((plan) => {
    const report = reports.get(byDir.get(plan.dir)!)!;
    return { features: readMatrix(plan.dir, readManifest(plan.dir)!, false), report };
  });
}

/** Token-id sequences of the plots (for the recurrent models), cached like dense features. */
export async function extractSequences(
  dataset: Dataset,
  opts: ExtractOptions & { encoder?: EncoderSpec } = {},
): Promise<SequenceFeatures> {
  return (await extractSequencesWithReport(dataset, opts)).features;
}

export async function extractSequencesWithReport(
  dataset: Dataset,
  opts: ExtractOptions & { encoder?: EncoderSpec } = {},
): Promise<{ features: SequenceFeatures; report: ExtractReport }> {
  const t0 = performance.now();
  const plan = await planSequences(dataset, opts.encoder ?? SEQUENCE_ENCODER, opts);
  const [report] = await runPlans(dataset, [plan], opts, t0);
  const m = readManifest(plan.dir)!;
  return { features: readSequences(plan.dir, m, false), report };
}

/** Name under which `features extract` offers plot token sequences. */
export const SEQUENCE_ENCODER = 'plot-sequences';

export class FeaturesNotCachedError extends MmgenreError {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super('prerequisite', message, { hint: `compute them first: ${command}` });
  }
}

/** Read cached features without computing anything; throws naming the command that computes them. */
export async function loadFeatures(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: Pick<ExtractOptions, 'cacheDir' | 'dtype' | 'verify' | 'freshness'> = {},
): Promise<FeatureMatrix> {
  const plan = await planDense(dataset, spec, opts);
  const m = checkLoadable(dataset, plan, spec, opts);
  return readMatrix(plan.dir, m, opts.verify ?? true);
}

export async function loadSequences(
  dataset: Dataset,
  opts: Pick<ExtractOptions, 'cacheDir' | 'verify' | 'freshness'> & { encoder?: EncoderSpec } = {},
): Promise<SequenceFeatures> {
  const spec = opts.encoder ?? SEQUENCE_ENCODER;
  const plan = await planSequences(dataset, spec, opts);
  const m = checkLoadable(dataset, plan, spec, opts);
  return readSequences(plan.dir, m, opts.verify ?? true);
}

function checkLoadable(
  dataset: Dataset,
  plan: Plan,
  spec: EncoderSpec,
  opts: { cacheDir?: string; dtype?: string },
): FeatureManifest {
  const cmd = extractCommand(dataset, spec, { dtype: opts.dtype, cacheDir: opts.cacheDir });
  const m = readManifest(plan.dir);
  if (!m || !m.complete) {
    throw new FeaturesNotCachedError(
      `${plan.encoderName} features for ${dataset.name} are ${m ? 'only partly computed' : 'not cached'} (${plan.dir}); run: ${cmd}`,
      cmd,
    );
  }
  const stale = staleChunks(m, plan).length;
  if (stale > 0) {
    throw new FeaturesNotCachedError(
      `${plan.encoderName} features for ${dataset.name} are out of date (inputs changed in ${stale} chunk(s)); run: ${cmd}`,
      cmd,
    );
  }
  return m;
}
