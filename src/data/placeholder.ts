/**
 * Plots that only say there is no plot ("N/A", "Plot unknown.", TMDB's "No overview found."):
 * read as text they would be a (tiny, misleading) synopsis, so loaders treat them as absent.
 */
const PLACEHOLDERS = new Set([
  'n/a',
  'na',
  'none',
  'null',
  'unknown',
  'plot unknown',
  'no plot',
  'no plot available',
  'plot not available',
  'not available',
  'no overview',
  'no overview found',
  'no synopsis',
  'no synopsis available',
  'tba',
  'tbd',
  'coming soon',
  '-',
  '?',
]);

/** Whether `text` (IMDb's `::author` suffix allowed) is a placeholder rather than a plot. */
export function isPlaceholderPlot(text: string): boolean {
  const core = text
    .replace(/::.*$/s, '')
    .trim()
    .toLowerCase()
    .replace(/[.!…\s]+$/u, '');
  return PLACEHOLDERS.has(core);
}
