/**
 * A finished run as a function of raw features, with any modality removable: what late fusion
 * combines and what the modality-removed evaluation calls. Features come from the cache
 * (extracted once up front by run-all; extracted here if missing).
 */
import type { Dataset } from '../data/types.js';
import { extractFeatures } from '../features/extract.js';
import type { FeatureMatrix } from '../features/types.js';
import type { InputConfig } from './config.js';
import type { LoadedRun } from './run.js';

export interface RawInputs {
  /** One raw (un-normalised) row-major matrix per input, in the run's input order. */
  x: Float32Array[];
  /** Per input, 1 where the movie lacks it. */
  missing: Uint8Array[];
}

/** Rows of a feature matrix for `ids` (zeros and missing = 1 where the matrix lacks the movie). */
export function gatherRows(
  m: FeatureMatrix,
  ids: readonly string[],
): { x: Float32Array; missing: Uint8Array } {
  const index = new Map(m.ids.map((id, i) => [id, i]));
  const x = new Float32Array(ids.length * m.dim);
  const missing = new Uint8Array(ids.length);
  ids.forEach((id, r) => {
    const i = index.get(id);
    if (i === undefined || m.missing[i]) missing[r] = 1;
    else x.set(m.data.subarray(i * m.dim, (i + 1) * m.dim), r * m.dim);
  });
  return { x, missing };
}

/** The raw inputs a config's inputs need for `ids` (features read from the cache). */
export async function rawInputsFor(
  dataset: Dataset,
  inputs: readonly InputConfig[],
  ids: readonly string[],
  opts: { workers?: number; progress?: boolean } = {},
): Promise<RawInputs> {
  const x: Float32Array[] = [];
  const missing: Uint8Array[] = [];
  for (const input of inputs) {
    if (input.kind !== 'features')
      throw new Error(`input '${input.id}': only feature inputs can be fused here`);
    const m = await extractFeatures(
      dataset,
      { name: input.encoder, options: input.options },
      { workers: opts.workers ?? 0 },
    );
    const g = gatherRows(m, ids);
    x.push(g.x);
    missing.push(g.missing);
  }
  return { x, missing };
}

/** Probabilities (row-major n × L) from raw inputs; `remove` masks those modalities for every movie. */
export function predictRaw(
  run: LoadedRun,
  raw: RawInputs,
  remove: ReadonlySet<string> = new Set(),
): Float32Array {
  const missing = raw.missing.map((m, k) => {
    const input = run.config.inputs[k];
    return remove.has(input.id) || remove.has(input.modality ?? input.id)
      ? new Uint8Array(m.length).fill(1)
      : m;
  });
  return run.predict(raw.x, missing);
}
