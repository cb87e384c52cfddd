/**
 * Input preparation: some encoders need options fitted on the training split before features
 * can be extracted (a TF-IDF vocabulary, the word list of the token sequences). A model family
 * registers a preparer for such an encoder; the pipeline calls it with the config's options and
 * the dataset, and extracts (and records in the run's spec) the options it returns.
 */
import type { Dataset } from '../data/types.js';

export type InputPreparer = (
  options: Record<string, unknown>,
  dataset: Dataset,
) => Promise<Record<string, unknown>>;

const preparers = new Map<string, InputPreparer>();

export function registerInputPreparer(encoder: string, prepare: InputPreparer): void {
  preparers.set(encoder, prepare);
}

/** The encoder options to extract with: fitted on the training split when the encoder needs it. */
export async function prepareInputOptions(
  encoder: string,
  options: Record<string, unknown> | undefined,
  dataset: Dataset,
): Promise<Record<string, unknown>> {
  const prepare = preparers.get(encoder);
  return prepare ? prepare(options ?? {}, dataset) : (options ?? {});
}

/** The training split's records (what preparers fit on). */
export function trainRecords(dataset: Dataset): Dataset['records'] {
  const ids = new Set(dataset.splits.train);
  return dataset.records.filter((r) => ids.has(r.id));
}
