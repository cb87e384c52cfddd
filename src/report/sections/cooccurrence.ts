/** The label co-occurrence matrix of the data (heatmap): how often two genres share a movie. */
import type { Dataset } from '../../data/types.js';
import { renderVegaLite } from '../charts.js';
import type { ReportContext } from '../context.js';
import { figure, missing, section, type ReportSection } from '../html.js';

export interface CooccurrenceCell {
  a: string;
  b: string;
  count: number;
}

/** Movies having both genres, over every record of the dataset; the diagonal is each genre's count. */
export function cooccurrence(dataset: Dataset): CooccurrenceCell[] {
  const labels = dataset.labels;
  const index = new Map(labels.map((l, i) => [l, i]));
  const L = labels.length;
  const counts = new Uint32Array(L * L);
  for (const r of dataset.records) {
    const js = [...new Set(r.genres)].map((g) => index.get(g)).filter((j): j is number => j !== undefined);
    for (const a of js) for (const b of js) counts[a * L + b]++;
  }
  const cells: CooccurrenceCell[] = [];
  for (let a = 0; a < L; a++)
    for (let b = 0; b < L; b++) cells.push({ a: labels[a], b: labels[b], count: counts[a * L + b] });
  return cells;
}

export async function renderCooccurrenceSection(ctx: ReportContext): Promise<ReportSection> {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const ds of ctx.datasets) {
    if (!ds || seen.has(ds.root)) continue;
    seen.add(ds.root);
    const cells = cooccurrence(ds);
    const max = Math.max(1, ...cells.map((c) => c.count));
    const spec = {
      title: `${ds.name} (${ds.root.split('/').slice(-1)[0]}): ${ds.records.length} movies`,
      data: { values: cells },
      width: { step: 22 },
      height: { step: 22 },
      encoding: {
        x: {
          field: 'b',
          type: 'nominal' as const,
          sort: ds.labels,
          title: null,
          axis: { labelAngle: -50, orient: 'top' as const },
        },
        y: { field: 'a', type: 'nominal' as const, sort: ds.labels, title: null },
      },
      layer: [
        {
          // Empty pairs stay white: only genre pairs that occur are coloured.
          transform: [{ filter: 'datum.count > 0' }],
          mark: { type: 'rect' as const, stroke: '#ffffff', strokeWidth: 0.5 },
          encoding: {
            color: {
              field: 'count',
              type: 'quantitative' as const,
              title: 'movies',
              scale: { type: 'sqrt' as const, scheme: 'blues' },
            },
          },
        },
        {
          transform: [{ filter: 'datum.count > 0' }],
          mark: { type: 'text' as const, fontSize: 7.5 },
          encoding: {
            text: { field: 'count', type: 'quantitative' as const },
            color: {
              condition: { test: `datum.count > ${Math.round(max * 0.45)}`, value: '#ffffff' },
              value: '#1e293b',
            },
          },
        },
      ],
    };
    parts.push(
      figure(
        await renderVegaLite(spec),
        'Cell (row, column): movies having both genres; the diagonal is each genre’s own count. Colour on a square-root scale.',
        'cooccurrence',
      ),
    );
  }
  if (parts.length === 0)
    parts.push(
      missing(
        'No dataset could be loaded for these runs (pass --data DIR), so the co-occurrence matrix is not drawn.',
      ),
    );
  return section(
    'cooccurrence',
    'Genre co-occurrence',
    'Multi-label structure of the data: which genres come together (every split).',
    parts.join(''),
  );
}
