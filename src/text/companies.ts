/** Production companies (TMDB) as a multi-hot over the frequent ones. */
import type { MovieRecord } from '../data/types.js';

function normaliseCompany(name: string): string {
  return name.trim().replace(/\s+/g, ' ');
}

/**
 * The companies credited on at least `minCount` records (default 2), most frequent first
 * (ties by name), at most `maxCompanies`. Fit it on the training split only, then pass the list
 * as the 'companies-multihot' encoder's `vocabulary` option.
 */
export function fitCompanyVocabulary(
  records: Pick<MovieRecord, 'companies'>[],
  opts: { minCount?: number; maxCompanies?: number } = {},
): string[] {
  const counts = new Map<string, number>();
  for (const r of records) {
    for (const c of new Set((r.companies ?? []).map(normaliseCompany).filter(Boolean))) {
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  return [...counts]
    .filter(([, n]) => n >= (opts.minCount ?? 2))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, opts.maxCompanies ?? Infinity)
    .map(([c]) => c);
}

/**
 * Multi-hot over `vocabulary`, plus (with `other`) a last column set when the movie has a
 * company outside it. Null when the movie lists no company at all (missing, not zeros).
 */
export function companiesMultiHot(
  companies: string[] | undefined,
  vocabulary: Map<string, number>,
  other: boolean,
): Float32Array | null {
  const names = (companies ?? []).map(normaliseCompany).filter(Boolean);
  if (names.length === 0) return null;
  const v = new Float32Array(vocabulary.size + (other ? 1 : 0));
  for (const n of names) {
    const i = vocabulary.get(n);
    if (i !== undefined) v[i] = 1;
    else if (other) v[vocabulary.size] = 1;
  }
  return v;
}
