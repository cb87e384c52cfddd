/**
 * Every input a set of configs reads, extracted into the feature cache once before any training
 * starts (run-all, the demo), so that each trainer then finds its inputs cached and two configs
 * sharing an input never compute it twice.
 */
import type { Dataset } from '../data/types.js';
import { extractFeatureSet, extractSequences } from '../features/extract.js';
import { prepareInputOptions } from '../features/preparers.js';
import type { TrainConfig } from '../runs/config.js';

type ConfigInput = TrainConfig['inputs'][number];

export interface ExtractInputsOptions {
  workers?: number;
  progress?: boolean;
  cacheDir?: string;
}

/** The encoder options an input is read with: its own, then one per training view (e.g. mirrored posters). */
export function inputVariants(
  input: ConfigInput,
  options: Record<string, unknown>,
): Array<Record<string, unknown>> {
  return [options, ...(input.trainViews ?? []).map((view) => ({ ...options, ...view }))];
}

/**
 * Extract every input of every config, deduplicated; late fusions read their experts'
 * predictions, not features, and are skipped. The dense inputs go in one call, so that variants
 * of one network (two layers, with and without mirroring) run it once per poster and orientation.
 */
export async function extractConfigInputs(
  dataset: Dataset,
  configs: TrainConfig[],
  opts: ExtractInputsOptions = {},
): Promise<void> {
  const done = new Set<string>();
  const dense: Array<{ name: string; options: Record<string, unknown> }> = [];
  for (const c of configs) {
    if (c.model.type === 'late') continue;
    for (const input of c.inputs) {
      const options = await prepareInputOptions(input.encoder, input.options, dataset);
      for (const o of inputVariants(input, options)) {
        const key = JSON.stringify([input.kind, input.encoder, o]);
        if (done.has(key)) continue;
        done.add(key);
        const encoder = { name: input.encoder, options: o };
        if (input.kind === 'sequence') await extractSequences(dataset, { ...opts, encoder });
        else dense.push(encoder);
      }
    }
  }
  await extractFeatureSet(dataset, dense, opts);
}
