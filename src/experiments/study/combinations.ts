/** Which feature combinations the grid trains: the study's seven rows, or every non-empty subset. */
import { FEATURE_INPUTS, GRID_FEATURES, GridInputError, type GridFeature } from './features.js';

/** A set of features, always in GRID_FEATURES order. */
export type Combination = readonly GridFeature[];

export type CombinationMode = 'study' | 'all';

/** The study's rows, in its table's order. */
export const STUDY_COMBINATIONS: readonly Combination[] = [
  ['overview', 'poster'],
  ['companies', 'poster'],
  ['title', 'poster'],
  ['overview', 'title', 'poster'],
  ['overview', 'title', 'companies', 'poster'],
  ['overview'],
  ['poster'],
];

export function canonical(features: Iterable<GridFeature>): Combination {
  const set = new Set(features);
  return GRID_FEATURES.filter((f) => set.has(f));
}

/** Stable identifier, e.g. 'overview+poster' (run directory names, JSON keys). */
export function combinationKey(c: Combination): string {
  return canonical(c).join('+');
}

/** As the study writes it: 'overview & poster', 'overview, title & poster', 'overview alone'. */
export function combinationLabel(c: Combination): string {
  const names = canonical(c).map((f) => FEATURE_INPUTS[f].label);
  if (names.length === 1) return `${names[0]} alone`;
  return `${names.slice(0, -1).join(', ')} & ${names.at(-1)}`;
}

/** Every non-empty subset of `features`: singles first, then pairs, ..., each in canonical order. */
export function allCombinations(features: readonly GridFeature[]): Combination[] {
  const fs = canonical(features);
  const out: Combination[] = [];
  for (let mask = 1; mask < 1 << fs.length; mask++) out.push(fs.filter((_, k) => mask & (1 << k)));
  return out.sort((a, b) => a.length - b.length || subsetOrder(a, b, fs));
}

function subsetOrder(a: Combination, b: Combination, fs: readonly GridFeature[]): number {
  for (let k = 0; k < a.length; k++) {
    const d = fs.indexOf(a[k]) - fs.indexOf(b[k]);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The combinations to train: 'study' keeps the study's rows made only of the given features
 * (in the study's order); 'all' is every non-empty subset.
 */
export function selectCombinations(features: readonly GridFeature[], mode: CombinationMode): Combination[] {
  if (features.length === 0) throw new GridInputError('no feature given');
  if (mode === 'all') return allCombinations(features);
  const allowed = new Set(features);
  const rows = STUDY_COMBINATIONS.filter((c) => c.every((f) => allowed.has(f)));
  if (rows.length === 0) {
    throw new GridInputError(
      `no row of the study uses only ${features.join(', ')}; pass --combinations all to train every subset`,
    );
  }
  return rows.map((c) => [...c]);
}
