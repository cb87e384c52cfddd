/** Plain-text tables for the data commands' output (padding only: no library needed for that). */

export interface TableOptions {
  align?: Array<'left' | 'right'>;
  /** Print the header row and its rule (default true). */
  header?: boolean;
}

export function formatTable(headers: string[], rows: string[][], opts: TableOptions = {}): string {
  const showHeader = opts.header ?? true;
  const all = showHeader ? [headers, ...rows] : rows;
  const widths = headers.map((_, c) => Math.max(0, ...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((cell, c) => (opts.align?.[c] === 'right' ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  if (showHeader) {
    out.push(line(headers));
    out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  for (const r of rows) out.push(line(r));
  return out.join('\n');
}
