/**
 * The GMU gate per genre, as the paper's Figure 4: for the test movies of each genre, the
 * distribution of z (the poster's share; 1 − z is the plot's). Prediction rows carry `gate`
 * as one number per movie (mean z over the hidden units), as {genre: share}, or as
 * {inputId: share} with a 'poster' key (the fusions' form for more than two modalities).
 */
import type { PredictionRow } from '../../eval/predictions.js';
import { renderVegaLite } from '../charts.js';
import type { ReportContext } from '../context.js';
import { figure, missing, notes, section, type ReportSection } from '../html.js';
import { escapeHtml } from '../text.js';

export interface GatePoint {
  run: string;
  genre: string;
  id: string;
  z: number;
}

/**
 * The poster's share z of `row` for `genre`: undefined when the row has none, or an error
 * message when malformed. Accepted shapes: a number (per movie); {genre: share}; and, as the
 * fusions write it for more than two modalities, {inputId: share} with a 'poster' key.
 */
export function posterShare(row: PredictionRow, genre: string): number | undefined | { error: string } {
  const g = row.gate;
  if (g === undefined || g === null) return undefined;
  // A share computed in float32 can land a hair outside [0, 1] (1.0000000056): that is rounding,
  // clamped; anything further out is malformed.
  const NOISE = 1e-6;
  const check = (v: unknown): number | { error: string } =>
    typeof v === 'number' && v >= -NOISE && v <= 1 + NOISE
      ? Math.min(1, Math.max(0, v))
      : { error: `gate ${JSON.stringify(v)} is not a number in [0, 1]` };
  if (typeof g === 'number') return check(g);
  if (typeof g === 'object' && !Array.isArray(g)) {
    const obj = g as Record<string, unknown>;
    if (genre in obj) return check(obj[genre]);
    if ('poster' in obj) return check(obj.poster);
    return undefined;
  }
  return { error: `gate must be a number or an object {genre: share}, got ${JSON.stringify(g)}` };
}

export function hasGate(rows: PredictionRow[]): boolean {
  return rows.some((r) => r.gate !== undefined && r.gate !== null);
}

export function gateData(ctx: ReportContext): {
  points: GatePoint[];
  problems: string[];
  gatedRuns: string[];
} {
  const points: GatePoint[] = [];
  const problems: string[] = [];
  const gatedRuns: string[] = [];
  ctx.runs.forEach((run, k) => {
    if (!hasGate(run.testPredictions)) return;
    gatedRuns.push(run.name);
    const t = ctx.testSets[k];
    if (!t) {
      problems.push(`${run.name}: has gate values but no test set with true labels (pass --data DIR)`);
      return;
    }
    const rows = new Map(run.testPredictions.map((r) => [r.id, r]));
    let bad = 0;
    let firstError = '';
    t.records.forEach((rec) => {
      const row = rows.get(rec.id)!;
      for (const genre of rec.genres) {
        if (!run.labels.includes(genre)) continue;
        const z = posterShare(row, genre);
        if (z === undefined) continue;
        if (typeof z === 'object') {
          bad++;
          firstError ||= `movie ${rec.id}: ${z.error}`;
          continue;
        }
        points.push({ run: run.name, genre, id: rec.id, z });
      }
    });
    if (bad > 0) problems.push(`${run.name}: ${bad} gate values left out (first: ${firstError})`);
  });
  return { points, problems, gatedRuns };
}

export async function renderGateSection(ctx: ReportContext): Promise<ReportSection> {
  const { points, problems, gatedRuns } = gateData(ctx);
  const parts: string[] = [];
  if (gatedRuns.length === 0) {
    parts.push(
      missing(
        'None of these runs is a gated (GMU) model: their test predictions carry no "gate" values, so there is no poster-versus-plot share to draw.',
      ),
    );
  } else if (points.length === 0) {
    parts.push(missing('The gated runs’ gate values could not be paired with test movies’ genres.'));
  } else {
    for (const run of [...new Set(points.map((p) => p.run))]) {
      const mine = points.filter((p) => p.run === run);
      // Genres ordered by median z, poster-leaning first (as Figure 4 sorts them).
      const byGenre = new Map<string, number[]>();
      for (const p of mine) byGenre.set(p.genre, [...(byGenre.get(p.genre) ?? []), p.z]);
      const median = (xs: number[]): number => {
        const s = [...xs].sort((a, b) => a - b);
        return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      };
      const order = [...byGenre.entries()].sort((a, b) => median(b[1]) - median(a[1])).map(([g]) => g);
      const label = (g: string): string => `${g} (${byGenre.get(g)!.length})`;
      const values = mine.map((p) => ({ ...p, genreLabel: label(p.genre) }));
      const spec = {
        title: `${run}: gate z per genre (test movies having the genre)`,
        width: 520,
        height: { step: 18 },
        data: { values },
        layer: [
          {
            mark: {
              type: 'boxplot' as const,
              extent: 1.5,
              size: 12,
              median: { color: '#0f172a' },
              outliers: { size: 8, opacity: 0.5 },
            },
            encoding: {
              y: {
                field: 'genreLabel',
                type: 'nominal' as const,
                sort: order.map(label),
                title: 'genre (test movies)',
              },
              x: {
                field: 'z',
                type: 'quantitative' as const,
                scale: { domain: [0, 1] },
                title: 'z: ← plot drives it · poster drives it →',
              },
              color: { value: '#ea580c' },
            },
          },
          {
            data: { values: [{ z: 0.5 }] },
            mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#64748b' },
            encoding: { x: { field: 'z', type: 'quantitative' as const } },
          },
        ],
      };
      parts.push(
        figure(
          await renderVegaLite(spec),
          `${run}: distribution of the gate z over test movies, per true genre; genres sorted by median z.`,
          'gate',
        ),
      );
    }
  }
  parts.push(notes(problems));
  const intro = `In a Gated Multimodal Unit, h = z·h<sub>poster</sub> + (1 − z)·h<sub>plot</sub>: z near 1 means the poster drove the prediction, near 0 the plot. ${
    gatedRuns.length > 0 ? `Gated runs: ${escapeHtml(gatedRuns.join(', '))}.` : ''
  }`;
  return section('gate', 'GMU gate: poster versus plot', intro, parts.join(''));
}
