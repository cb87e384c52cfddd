/**
 * The report of an extraction: what was computed, reused and recomputed (and why), and the
 * movies without features, grouped by reason.
 */
import type { FeatureManifest, Freshness } from './store.js';
import type { RecomputeReason, RecomputedChunks } from './recompute.js';
import type { OpenEntry, Plan } from './plan.js';

export interface MissingReason {
  reason: string;
  count: number;
  example: { id: string; message: string };
}

export interface ExtractReport {
  dir: string;
  encoder: string;
  rows: number;
  dim: number;
  rowShape: number[];
  dtype: string;
  missing: number;
  missingReasons: MissingReason[];
  /** Rows computed by this call (0: nothing to do) and rows found in the cache. */
  computedRows: number;
  reusedRows: number;
  /** Of the computed rows: those that were cached but stale or damaged, and why. */
  recomputed: RecomputedChunks;
  /** How cached rows were judged current. */
  freshness: Freshness;
  noop: boolean;
  workers: number;
  seconds: number;
  /** Rows computed per second of this call (0 when nothing was computed). */
  rowsPerSecond: number;
  /** Set when the rows were computed elsewhere (ChunkRunner.label: e.g. a queue). */
  computedOn?: string;
}

export const NOTHING_RECOMPUTED: RecomputedChunks = { chunks: 0, rows: 0, reasons: [] };

export function summariseRecompute(o: OpenEntry): RecomputedChunks {
  const byReason = new Map<RecomputeReason, { chunks: number; rows: number }>();
  let rows = 0;
  for (const [index, reason] of o.recompute) {
    const slot = o.slots[index];
    const n = slot.end - slot.start;
    const r = byReason.get(reason) ?? { chunks: 0, rows: 0 };
    r.chunks++;
    r.rows += n;
    byReason.set(reason, r);
    rows += n;
  }
  return {
    chunks: o.recompute.size,
    rows,
    reasons: [...byReason].map(([reason, r]) => ({ reason, ...r })).sort((a, b) => b.chunks - a.chunks),
  };
}

export function groupMissing(missing: Record<string, string>): MissingReason[] {
  const groups = new Map<string, MissingReason>();
  for (const [id, message] of Object.entries(missing)) {
    // Group "cannot decode /a/b.jpg: …" and "cannot decode /c/d.jpg: …" together.
    const reason = message
      .replace(/(?:[A-Za-z]:)?[/\\][^\s:'"]+/g, '<path>')
      .replace(/\btt\d+\b|\b\d+\b/g, 'N')
      .slice(0, 120);
    const g = groups.get(reason);
    if (g) g.count++;
    else groups.set(reason, { reason, count: 1, example: { id, message } });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

export function makeReport(
  plan: Plan,
  m: FeatureManifest,
  computedRows: number,
  reusedRows: number,
  recomputed: RecomputedChunks,
  workers: number,
  ms: number,
): ExtractReport {
  const seconds = ms / 1000;
  return {
    dir: plan.dir,
    encoder: plan.encoderName,
    rows: m.ids.length,
    dim: m.dim,
    rowShape: m.rowShape,
    dtype: m.dtype,
    missing: Object.keys(m.missing).length,
    missingReasons: groupMissing(m.missing),
    computedRows,
    reusedRows,
    recomputed,
    freshness: plan.freshness,
    noop: computedRows === 0 && reusedRows === m.ids.length,
    workers,
    seconds,
    rowsPerSecond: computedRows > 0 && seconds > 0 ? computedRows / seconds : 0,
  };
}
