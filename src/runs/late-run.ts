/**
 * A finished late-fusion run: late.json names its expert runs and the combination's weights;
 * its probabilities are the experts' (each on its own inputs from the feature cache), combined
 * as at training. What run-all's modality-removed scores and the late-fusion trainer read.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Dataset } from '../data/types.js';
import { initEngine } from '../engine/index.js';
import { combineLate, expertMissing, type LateOptions } from '../models/fusion/late.js';
import { predictRaw, rawInputsFor, type RawInputs } from './raw-predictions.js';
import { loadRun, type LoadedRun } from './run.js';

/** The file holding a late-fusion run's experts and weights. */
export const LATE_FILE = 'late.json';

export interface LateFile {
  mode: LateOptions['mode'];
  /** Input id → expert run directory (relative to the late run's parent when beside it). */
  experts: Record<string, string>;
  /** weights[k][j]: expert k's weight for genre j before renormalising over present experts. */
  weights: number[][];
  labels: string[];
}

export interface LateExperts {
  ids: string[];
  runs: LoadedRun[];
  dirs: string[];
}

/** Each expert's probabilities on `splitIds` (and which movies lack its inputs). */
export async function expertOutputs(
  dataset: Dataset,
  experts: LateExperts,
  splitIds: string[],
  remove: ReadonlySet<string> = new Set(),
): Promise<{ probs: Float32Array[]; missing: Uint8Array[] }> {
  const probs: Float32Array[] = [];
  const missing: Uint8Array[] = [];
  for (const [k, run] of experts.runs.entries()) {
    const raw: RawInputs = await rawInputsFor(dataset, run.config.inputs, splitIds);
    const gone = remove.has(experts.ids[k]);
    // An expert may read several inputs (e.g. two layers of the poster network): all go when its modality is removed.
    const m = gone ? raw.missing.map(() => new Uint8Array(splitIds.length).fill(1)) : raw.missing;
    probs.push(predictRaw(run, { x: raw.x, missing: m }));
    missing.push(expertMissing(m, splitIds.length));
  }
  return { probs, missing };
}

/** Probabilities of a finished late run on `ids`, optionally with modalities removed. */
export async function predictLateRun(
  dir: string,
  dataset: Dataset,
  ids: string[],
  remove: ReadonlySet<string> = new Set(),
): Promise<Float32Array> {
  await initEngine();
  const late = JSON.parse(readFileSync(join(dir, LATE_FILE), 'utf8')) as LateFile;
  const inputIds = Object.keys(late.experts);
  const runs = await Promise.all(inputIds.map((id) => loadRun(resolve(dir, late.experts[id]))));
  const outs = await expertOutputs(dataset, { ids: inputIds, runs, dirs: [] }, ids, remove);
  return combineLate(outs.probs, outs.missing, late.weights, ids.length, late.labels.length);
}

export function isLateRun(dir: string): boolean {
  return existsSync(join(dir, LATE_FILE));
}
