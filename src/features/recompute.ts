/** Cached chunks computed again, and why: the extractor counts them, the CLI and the extraction report say them. */

/** Why a chunk that was cached had to be computed again. */
export type RecomputeReason = 'stale-source' | 'stale-content' | 'checksum' | 'missing-file';

/** Cached chunks this call computed again (chunks never computed before are not counted). */
export interface RecomputedChunks {
  chunks: number;
  rows: number;
  reasons: Array<{ reason: RecomputeReason; chunks: number; rows: number }>;
}

export const RECOMPUTE_REASONS: Record<RecomputeReason, string> = {
  'stale-source': 'inputs changed (poster size or mtime, or the text)',
  'stale-content': 'poster bytes changed under the same size and mtime',
  checksum: 'cached bytes failed their checksum',
  'missing-file': 'the finished matrix file is missing',
};

/** "recomputing 2 cached chunks (16 rows): 1 inputs changed (...), 1 cached bytes failed ..." */
export function recomputeText(r: RecomputedChunks, verb = 'recomputing'): string {
  const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;
  return (
    `${verb} ${plural(r.chunks, 'cached chunk')} (${plural(r.rows, 'row')}): ` +
    r.reasons.map((x) => `${x.chunks} × ${RECOMPUTE_REASONS[x.reason]}`).join('; ')
  );
}
