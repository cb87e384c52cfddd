/** A deterministic, label-stratified train/dev/test split for datasets that ship without one (TMDB). */
import { createRng } from '../util/random.js';
import type { SplitName } from './types.js';

export interface SplitOptions {
  /** Share of each genre's movies that go to test (MM-IMDB: 0.3). */
  test?: number;
  /** Share that goes to dev (MM-IMDB: 0.1); the rest is train. */
  dev?: number;
  seed?: number;
}

export const DEFAULT_SPLIT_SEED = 1337;

/**
 * The MM-IMDB procedure (Arevalo et al. 2017, §4): genres are taken from the rarest to the most
 * frequent; for each, the movies that have it and are not yet assigned are shuffled (seeded) and
 * cut into test / dev / train. Rare genres therefore get their share in every split, which a plain
 * random split would not guarantee. Movies with no genre are split last, the same way.
 * The same items, order of genres aside, and seed always give the same split.
 */
export function stratifiedSplit(
  items: ReadonlyArray<{ id: string; genres: readonly string[] }>,
  opts: SplitOptions = {},
): Record<SplitName, string[]> {
  const testShare = opts.test ?? 0.3;
  const devShare = opts.dev ?? 0.1;
  if (testShare < 0 || devShare < 0 || testShare + devShare > 1) {
    throw new RangeError(`split shares must be ≥ 0 and sum to ≤ 1 (test ${testShare}, dev ${devShare})`);
  }
  const rng = createRng(opts.seed ?? DEFAULT_SPLIT_SEED);

  const freq = new Map<string, number>();
  for (const it of items) for (const g of new Set(it.genres)) freq.set(g, (freq.get(g) ?? 0) + 1);
  // Ties broken by name so the order never depends on the input order.
  const rarestFirst = [...freq.keys()].sort(
    (a, b) => freq.get(a)! - freq.get(b)! || (a < b ? -1 : a > b ? 1 : 0),
  );

  const assigned = new Set<string>();
  const out: Record<SplitName, string[]> = { train: [], dev: [], test: [] };
  const cut = (ids: string[]): void => {
    // Sorted before shuffling: the result depends on the set of ids, not on the file order.
    const shuffled = rng.shuffle([...new Set(ids)].sort());
    const nTest = Math.round(shuffled.length * testShare);
    const nDev = Math.round(shuffled.length * devShare);
    shuffled.forEach((id, k) => {
      out[k < nTest ? 'test' : k < nTest + nDev ? 'dev' : 'train'].push(id);
      assigned.add(id);
    });
  };
  for (const genre of rarestFirst) {
    cut(items.filter((it) => !assigned.has(it.id) && it.genres.includes(genre)).map((it) => it.id));
  }
  cut(items.filter((it) => !assigned.has(it.id)).map((it) => it.id));
  return out;
}
