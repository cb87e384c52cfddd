/** Precision–recall curves per genre (small multiples) from the test predictions and the true labels. */
import { averagePrecisionFromCurve, binaryCurve } from '../../eval/ranking.js';
import { renderVegaLite, seriesColors } from '../charts.js';
import type { ReportContext } from '../context.js';
import { figure, missing, notes, section, type ReportSection } from '../html.js';
import { fmtNum } from '../text.js';

export interface PrPoint {
  run: string;
  genre: string;
  recall: number;
  precision: number;
  order: number;
}

const MAX_POINTS = 80;

/** The PR curve of one column, thinned to at most MAX_POINTS (always keeping both ends). */
export function prCurve(
  yTrue: ArrayLike<number>,
  score: ArrayLike<number>,
): { recall: number[]; precision: number[]; ap: number | null } {
  const c = binaryCurve(yTrue, score);
  if (c.positives === 0) return { recall: [], precision: [], ap: null };
  const recall = [0];
  const precision = [1];
  const m = c.thresholds.length;
  const step = Math.max(1, Math.ceil(m / MAX_POINTS));
  for (let i = 0; i < m; i++) {
    if (i % step !== 0 && i !== m - 1) continue;
    recall.push(c.tps[i] / c.positives);
    precision.push(c.tps[i] / (c.tps[i] + c.fps[i]));
  }
  return { recall, precision, ap: averagePrecisionFromCurve(c) };
}

export function prCurvesData(ctx: ReportContext): {
  points: PrPoint[];
  ap: Array<{ run: string; genre: string; ap: number | null; positives: number }>;
  skipped: string[];
} {
  const points: PrPoint[] = [];
  const ap: Array<{ run: string; genre: string; ap: number | null; positives: number }> = [];
  const skipped = new Set<string>();
  ctx.runs.forEach((run, k) => {
    const t = ctx.testSets[k];
    if (!t) return;
    run.labels.forEach((genre, j) => {
      const truth = t.yTrue.map((r) => r[j]);
      const score = t.yProb.map((r) => r[j]);
      const positives = truth.reduce((a, b) => a + b, 0);
      if (positives === 0) {
        skipped.add(genre);
        return;
      }
      const c = prCurve(truth, score);
      ap.push({ run: run.name, genre, ap: c.ap, positives });
      c.recall.forEach((r, i) =>
        points.push({ run: run.name, genre, recall: r, precision: c.precision[i], order: i }),
      );
    });
  });
  return { points, ap, skipped: [...skipped] };
}

export async function renderPrCurvesSection(ctx: ReportContext): Promise<ReportSection> {
  const { points, ap, skipped } = prCurvesData(ctx);
  const parts: string[] = [];
  const without = ctx.runs.filter((_, k) => !ctx.testSets[k]).map((r) => r.name);
  if (points.length === 0) {
    parts.push(
      missing(
        'No run has test predictions with the data’s true labels (pass --data DIR), so no precision–recall curves can be drawn.',
      ),
    );
  } else {
    const genres = [...new Set(points.map((p) => p.genre))];
    const single = ctx.runs.filter((_, k) => ctx.testSets[k]).length === 1;
    // One run: put its AP in each panel's title; several: the legend tells the runs apart.
    const apOf = new Map(ap.map((a) => [a.genre, a]));
    const title = (g: string): string =>
      single ? `${g} · AP ${fmtNum(apOf.get(g)?.ap ?? null, 2)} · n+ ${apOf.get(g)?.positives ?? 0}` : g;
    const values = points.map((p) => ({ ...p, panel: title(p.genre) }));
    const spec = {
      data: { values },
      facet: { field: 'panel', type: 'nominal' as const, sort: genres.map(title), title: null },
      columns: 5,
      spec: {
        width: 150,
        height: 110,
        mark: { type: 'line' as const, interpolate: 'step-after' as const, strokeWidth: 1.6 },
        encoding: {
          x: {
            field: 'recall',
            type: 'quantitative' as const,
            scale: { domain: [0, 1] },
            axis: { tickCount: 3 },
          },
          y: {
            field: 'precision',
            type: 'quantitative' as const,
            scale: { domain: [0, 1] },
            axis: { tickCount: 3 },
          },
          color: {
            field: 'run',
            type: 'nominal' as const,
            title: 'run',
            scale: seriesColors(ctx.runs.map((r) => r.name)),
            legend: { orient: 'top' as const },
          },
          order: { field: 'order', type: 'quantitative' as const },
        },
      },
      resolve: { axis: { x: 'independent' as const, y: 'independent' as const } },
    };
    parts.push(
      figure(
        await renderVegaLite(spec),
        'Precision against recall as the threshold falls, one panel per genre (test split). AP: average precision; n+: test movies of the genre.',
        'pr-curves',
      ),
    );
  }
  const extra: string[] = [];
  if (skipped.length > 0)
    extra.push(`No test movie has these genres, so they have no curve: ${skipped.join(', ')}.`);
  if (without.length > 0 && points.length > 0)
    extra.push(`No aligned test predictions for: ${without.join(', ')}.`);
  parts.push(notes(extra));
  return section(
    'pr-curves',
    'Precision–recall per genre',
    'Threshold-free: how well each genre’s scores rank its movies above the others.',
    parts.join(''),
  );
}
