/** Per-genre test F1 bars for each run, beside the paper's per-genre F1 (Table 3) where it is transcribed. */
import { PAPER_TABLE3, PAPER_TABLE3_SOURCE, PAPER_TABLE3_VERIFIED } from '../../eval/published.js';
import { renderVegaLite, seriesColors } from '../charts.js';
import type { ReportContext } from '../context.js';
import { figure, missing, notes, section, type ReportSection } from '../html.js';

export interface GenreBar {
  genre: string;
  model: string;
  f1: number;
  support: number | null;
}

export function perGenreData(ctx: ReportContext): { bars: GenreBar[]; genres: string[]; paperRows: number } {
  const bars: GenreBar[] = [];
  const genres: string[] = [];
  const addGenre = (g: string): void => {
    if (!genres.includes(g)) genres.push(g);
  };
  ctx.runs.forEach((run, k) => {
    const v = ctx.evaluations[k]?.file.variants.find((x) => x.kind === 'default');
    for (const p of v?.metrics.perLabel ?? []) {
      addGenre(p.label);
      bars.push({ genre: p.label, model: run.name, f1: p.f1, support: p.support });
    }
  });
  let paperRows = 0;
  for (const row of PAPER_TABLE3) {
    for (const [key, name] of [
      ['text', 'paper: text'],
      ['visual', 'paper: visual'],
      ['gmu', 'paper: GMU'],
    ] as const) {
      const value = row[key];
      if (value === null) continue;
      addGenre(row.genre);
      bars.push({ genre: row.genre, model: name, f1: value, support: null });
      paperRows++;
    }
  }
  return { bars, genres, paperRows };
}

export async function renderPerGenreSection(ctx: ReportContext): Promise<ReportSection> {
  const { bars, genres, paperRows } = perGenreData(ctx);
  const parts: string[] = [];
  const ours = bars.filter((b) => !b.model.startsWith('paper:'));
  if (ours.length === 0)
    parts.push(
      missing('No run has per-genre test metrics (no test predictions with data, and none in eval.json).'),
    );
  if (bars.length > 0) {
    const models = [...new Set([...ctx.runs.map((r) => r.name), ...bars.map((b) => b.model)])];
    const spec = {
      width: 560,
      height: { step: Math.max(6, Math.min(14, 40 / models.length)) },
      data: { values: bars },
      mark: { type: 'bar' as const, tooltip: true },
      encoding: {
        y: { field: 'genre', type: 'nominal' as const, sort: genres, title: null },
        yOffset: { field: 'model', type: 'nominal' as const, sort: models },
        x: {
          field: 'f1',
          type: 'quantitative' as const,
          title: 'test F1 (threshold 0.5)',
          scale: { domain: [0, 1] },
        },
        color: { field: 'model', type: 'nominal' as const, title: 'model', scale: seriesColors(models) },
      },
    };
    parts.push(
      figure(
        await renderVegaLite(spec),
        'Per-genre F1 at 0.5 on the test split, genres in the paper’s order (most frequent first).',
        'per-genre',
      ),
    );
  }
  parts.push(
    paperRows === 0
      ? missing(
          `The paper’s per-genre F1 (${PAPER_TABLE3_SOURCE}) is not transcribed in src/eval/published.ts (every cell is null until it is checked against the paper), so only this project’s runs are drawn.`,
        )
      : notes([
          `Paper bars: ${PAPER_TABLE3_SOURCE}, on MM-IMDB’s own test split (a different test set)${PAPER_TABLE3_VERIFIED ? '' : '; not re-checked against the paper'}.`,
        ]),
  );
  return section(
    'per-genre',
    'Per-genre F1',
    'Which genres each model gets right; rare genres at the bottom are where models differ most.',
    parts.join(''),
  );
}
