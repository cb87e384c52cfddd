/** Plain-text rendering of a prediction for the terminal: genres sorted, with bars. */
import type { Prediction } from './types.js';

const BAR_WIDTH = 30;

function bar(p: number, width = BAR_WIDTH): string {
  const cells = Math.max(0, Math.min(width, Math.round(p * width)));
  return '█'.repeat(cells) + '·'.repeat(width - cells);
}

export interface FormatOptions {
  /** Show only the first `top` genres (default all). */
  top?: number;
}

/** A table of every genre by probability, marking the predicted ones; then inputs and contributions. */
export function formatPrediction(p: Prediction, opts: FormatOptions = {}): string {
  const rows = Object.entries(p.scores).sort((a, b) => b[1] - a[1]);
  const shown = opts.top ? rows.slice(0, opts.top) : rows;
  const nameWidth = Math.max(5, ...shown.map(([g]) => g.length));
  const predicted = new Set(p.genres);
  const listed = opts.top ? p.genres.slice(0, opts.top) : p.genres;
  const more = p.genres.length - listed.length;
  const lines: string[] = [];
  lines.push(
    `predicted: ${listed.length ? listed.join(', ') : '(no genre above its threshold)'}${more > 0 ? ` (+${more} more)` : ''}  ` +
      `[thresholds: ${p.thresholds.kind === 'tuned' ? 'tuned on dev' : '0.5'}]`,
  );
  lines.push('');
  lines.push(`  ${'genre'.padEnd(nameWidth)}  prob   ${''.padEnd(BAR_WIDTH)}  thr`);
  for (const [genre, prob] of shown) {
    const mark = predicted.has(genre) ? '*' : ' ';
    const thr = p.thresholds.values[genre];
    lines.push(
      `${mark} ${genre.padEnd(nameWidth)}  ${prob.toFixed(3)}  ${bar(prob)}  ${thr === undefined ? '' : thr.toFixed(2)}`,
    );
  }
  lines.push('');
  lines.push(`inputs used: ${p.inputsUsed.join(', ') || '(none)'}`);
  for (const m of p.inputsMissing) lines.push(`input missing: ${m.input} (${m.reason})`);
  if (p.inputsIgnored.length)
    lines.push(`inputs ignored (this model does not read them): ${p.inputsIgnored.join(', ')}`);
  if (p.contributions) {
    lines.push('');
    lines.push('contributions (GMU gate, share of the fused representation):');
    const width = Math.max(8, ...Object.keys(p.contributions).map((m) => m.length));
    for (const [m, share] of Object.entries(p.contributions)) {
      lines.push(`  ${m.padEnd(width)} ${(share * 100).toFixed(1).padStart(5)}%  ${bar(share, 20)}`);
    }
  }
  if (p.genreContributions)
    lines.push(
      '',
      ...formatGenreContributions(
        p,
        shown.map(([g]) => g),
        nameWidth,
      ),
    );
  return lines.join('\n');
}

/** The prediction limited to its `top` most probable genres (scores, genres and per-genre parts); all without `top`. */
export function topOfPrediction(p: Prediction, top?: number): Prediction {
  if (!top) return p;
  const keep = Object.entries(p.scores)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([g]) => g);
  const pick = <T>(r: Record<string, T>): Record<string, T> =>
    Object.fromEntries(keep.filter((g) => g in r).map((g) => [g, r[g]]));
  return {
    ...p,
    scores: pick(p.scores),
    genres: p.genres.filter((g) => keep.includes(g)),
    ...(p.genreContributions ? { genreContributions: pick(p.genreContributions) } : {}),
  };
}

/**
 * Per genre: each modality's part of the logit (signed) and its share of the total push,
 * |partᵢ| / Σ|part|, for the genres shown (most probable first).
 */
function formatGenreContributions(p: Prediction, genres: string[], nameWidth: number): string[] {
  const parts = p.genreContributions!;
  const modalities = Object.keys(parts[genres[0]] ?? {});
  // Columns as wide as their headers (at least a signed part, e.g. '+12.34', and '100%').
  const partWidth = Math.max(8, ...modalities.map((m) => m.length + 1));
  const shareWidth = Math.max(13, ...modalities.map((m) => m.length + 7));
  const lines = [
    "what drove each genre (GMU, each modality's part of the genre's logit; share = |part| / Σ|parts|):",
    `  ${'genre'.padEnd(nameWidth)}  ${modalities.map((m) => m.padStart(partWidth)).join('')}  ${modalities.map((m) => `${m} share`.padStart(shareWidth)).join('')}`,
  ];
  for (const g of genres) {
    const row = parts[g];
    if (!row) continue;
    const total = modalities.reduce((s, m) => s + Math.abs(row[m]), 0) || 1;
    const mark = p.genres.includes(g) ? '*' : ' ';
    lines.push(
      `${mark} ${g.padEnd(nameWidth)}  ${modalities.map((m) => `${row[m] >= 0 ? '+' : ''}${row[m].toFixed(2)}`.padStart(partWidth)).join('')}  ${modalities.map((m) => `${((Math.abs(row[m]) / total) * 100).toFixed(0)}%`.padStart(shareWidth)).join('')}`,
    );
  }
  return lines;
}
