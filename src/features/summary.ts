/** Plain-text summaries of an extraction and of the cache's contents (what the CLI prints). */
import type { ExtractReport, RecomputedChunks, RecomputeReason } from './extract.js';
import { entrySize, listEntries, type FeatureManifest } from './store.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
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

export function formatExtractReport(r: ExtractReport, datasetName: string): string {
  const shape = r.dim > 0 ? `${r.rows} × ${r.rowShape.join('×')}` : `${r.rows} sequences`;
  const lines = [
    `features  ${r.encoder} on ${datasetName}`,
    `cache     ${r.dir}`,
    `shape     ${shape} (${r.dtype})`,
  ];
  if (r.noop)
    lines.push(`computed  nothing to do: all ${r.rows} rows were already cached (${r.seconds.toFixed(2)} s)`);
  else {
    const resumed = r.reusedRows > 0 ? `; ${r.reusedRows} reused from an earlier run` : '';
    lines.push(
      `computed  ${r.computedRows} rows in ${r.seconds.toFixed(1)} s (${r.rowsPerSecond.toFixed(1)} rows/s, ` +
        `${r.computedOn ? r.computedOn : r.workers === 0 ? 'in-process' : `${r.workers} worker${r.workers > 1 ? 's' : ''}`})${resumed}`,
    );
  }
  if (r.recomputed?.chunks) lines.push(`recomputed ${recomputeText(r.recomputed, '').trimStart()}`);
  lines.push(
    `missing   ${r.missing}${r.missing ? ` of ${r.rows} (flagged, never zero vectors as data)` : ''}`,
  );
  for (const g of r.missingReasons.slice(0, 10)) {
    lines.push(
      `  ${String(g.count).padStart(5)} × ${g.example.message}${g.count > 1 ? ` (e.g. ${g.example.id})` : ''}`,
    );
  }
  if (r.missingReasons.length > 10) lines.push(`  ... and ${r.missingReasons.length - 10} other reasons`);
  return lines.join('\n') + '\n';
}

export interface CacheListing {
  dir: string;
  dataset: string;
  encoder: string;
  options: string;
  rows: number;
  shape: string;
  dtype: string;
  missing: number;
  status: 'complete' | 'partial' | 'unreadable';
  bytes: number;
}

export function describeCache(cacheDir: string): CacheListing[] {
  return listEntries(cacheDir).map(({ dir, manifest }) => describeEntry(dir, manifest));
}

function describeEntry(dir: string, m: FeatureManifest | null): CacheListing {
  const bytes = entrySize(dir);
  if (!m) {
    return {
      dir,
      dataset: '?',
      encoder: '?',
      options: '',
      rows: 0,
      shape: '?',
      dtype: '?',
      missing: 0,
      status: 'unreadable',
      bytes,
    };
  }
  const opts = Object.entries(m.encoder.options)
    .map(([k, v]) => `${k}=${optionText(v)}`)
    .join(',');
  return {
    dir,
    dataset: `${m.dataset.name} (${m.dataset.root})`,
    encoder: m.encoder.name,
    options: opts,
    rows: m.ids.length,
    shape: m.kind === 'sequence' ? `seq (vocab ${m.vocabSize ?? '?'})` : m.rowShape.join('×'),
    dtype: m.dtype,
    missing: Object.keys(m.missing).length,
    status: m.complete ? 'complete' : 'partial',
    bytes,
  };
}

/** Option values as short text: a fitted vocabulary of 20,000 words shows as its size. */
function optionText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length} items]`;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export function formatCacheListing(rows: CacheListing[], cacheDir: string): string {
  if (rows.length === 0) return `no features cached in ${cacheDir}\n`;
  const table: string[][] = [
    ['dataset', 'encoder', 'options', 'rows', 'shape', 'dtype', 'missing', 'status', 'size'],
    ...rows.map((r) => [
      r.dataset,
      r.encoder,
      r.options || '-',
      String(r.rows),
      r.shape,
      r.dtype,
      String(r.missing),
      r.status,
      formatBytes(r.bytes),
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  const text = table
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
  const total = rows.reduce((a, r) => a + r.bytes, 0);
  return `${text}\n${rows.length} entr${rows.length === 1 ? 'y' : 'ies'}, ${formatBytes(total)} in ${cacheDir}\n`;
}
