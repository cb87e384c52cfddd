/**
 * `mmgenre report`: one self-contained HTML page about one or more runs. Everything is inline
 * (CSS, SVG charts rendered server-side, posters as data: URIs) and there is no script, so the
 * file opens offline and `serve` can hand out the same string.
 */
import { datasetLabel } from './dataset-label.js';
import { basename } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { buildReportContext, type ReportContext, type ReportOptions } from './context.js';
import { missing, notes, section, type ReportSection } from './html.js';
import { renderCooccurrenceSection } from './sections/cooccurrence.js';
import { renderCurvesSection } from './sections/curves.js';
import { renderDiagramSection } from './sections/diagram.js';
import { renderExamplesSection } from './sections/examples.js';
import { renderGateSection } from './sections/gate.js';
import { renderHeadlineSection } from './sections/headline.js';
import { renderPerGenreSection } from './sections/per-genre.js';
import { renderPrCurvesSection } from './sections/pr-curves.js';
import { REPORT_CSS } from './style.js';
import { escapeHtml, fmtNum } from './text.js';

/** Section ids in page order (tests and `serve` can rely on them). */
export const REPORT_SECTIONS = [
  'overview',
  'headline',
  'curves',
  'per-genre',
  'pr-curves',
  'cooccurrence',
  'gate',
  'examples',
  'diagram',
] as const;

export function renderOverviewSection(ctx: ReportContext): ReportSection {
  const rows = ctx.runs.map((run, k) => {
    const i = run.info;
    const ds = ctx.datasets[k];
    // Movies per split (runs trained before this counted mirrored training copies as movies).
    const sizes = i?.data.sizes
      ? Object.entries(i.data.sizes)
          .map(([s, n]) => `${s} ${n}`)
          .join(' · ')
      : '–';
    const cells = [
      `<b>${escapeHtml(run.name)}</b><div class="cite">${escapeHtml(basename(run.dir))}</div>`,
      escapeHtml(run.spec?.title ?? '–'),
      escapeHtml(datasetLabel(ds ?? (i ? { name: i.data.name, root: i.data.path } : null), '–')),
      escapeHtml(sizes),
      escapeHtml(i?.status ?? '–'),
      i?.epochsRun !== undefined
        ? `${i.epochsRun} (best ${i.bestEpoch ?? '–'}, ${escapeHtml(i.stopReason ?? '')})`
        : '–',
      fmtNum(i?.bestDevMacroF1 ?? null),
      i?.trainSeconds !== undefined ? `${fmtNum(i.trainSeconds, 1)} s` : '–',
    ];
    return `<tr data-run="${escapeHtml(run.name)}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  const problems = ctx.runs.flatMap((r) => r.problems.map((p) => `${r.name}: ${p}`));
  const body =
    `<table class="runs"><thead><tr><th>Run</th><th>Model</th><th>Data</th><th>Movies</th><th>Status</th><th>Epochs</th><th>Best dev macro-F1</th><th>Training</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
    notes([...ctx.notes, ...problems]);
  return section('overview', 'Runs', '', body);
}

/** Every section, in page order. A section that fails to render is replaced by its error, not dropped. */
export async function renderReportSections(ctx: ReportContext): Promise<ReportSection[]> {
  const renderers: Array<[string, string, () => ReportSection | Promise<ReportSection>]> = [
    ['overview', 'Runs', () => renderOverviewSection(ctx)],
    ['headline', 'Headline results', () => renderHeadlineSection(ctx)],
    ['curves', 'Training curves', () => renderCurvesSection(ctx)],
    ['per-genre', 'Per-genre F1', () => renderPerGenreSection(ctx)],
    ['pr-curves', 'Precision–recall per genre', () => renderPrCurvesSection(ctx)],
    ['cooccurrence', 'Genre co-occurrence', () => renderCooccurrenceSection(ctx)],
    ['gate', 'GMU gate: poster versus plot', () => renderGateSection(ctx)],
    ['examples', 'Examples', () => renderExamplesSection(ctx)],
    ['diagram', 'Model diagram', () => renderDiagramSection(ctx)],
  ];
  const out: ReportSection[] = [];
  for (const [id, title, render] of renderers) {
    try {
      out.push(await render());
    } catch (err) {
      out.push(section(id, title, '', missing(`This section could not be drawn: ${(err as Error).message}`)));
    }
  }
  return out;
}

/** The whole page for a context. */
export function reportPage(ctx: ReportContext, sections: ReportSection[]): string {
  const title = ctx.options.title ?? `mmgenre report: ${ctx.runs.map((r) => r.name).join(', ')}`;
  const toc = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join('');
  const generated = new Date().toISOString().replace('T', ' ').slice(0, 16);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mmgenre report">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header class="top"><h1>${escapeHtml(title)}</h1><p>Multimodal movie genre classification (poster + plot → ${escapeHtml(String(ctx.runs[0]?.labels.length ?? 23))} genres) · generated ${escapeHtml(generated)} UTC</p></header>
<nav class="toc">${toc}</nav>
<main>
${sections.map((s) => s.html).join('\n')}
</main>
<footer>Made by mmgenre. Self-contained: no scripts, no network.</footer>
</body>
</html>
`;
}

/** The report of `runDirs` as one self-contained HTML string. */
export async function renderReport(runDirs: string[], opts: ReportOptions = {}): Promise<string> {
  const ctx = await buildReportContext(runDirs, opts);
  opts.onStage?.('drawing charts');
  return reportPage(ctx, await renderReportSections(ctx));
}

/** Renders and writes the report atomically; returns its size in bytes. */
export async function writeReport(runDirs: string[], out: string, opts: ReportOptions = {}): Promise<number> {
  const html = await renderReport(runDirs, opts);
  writeFileAtomic(out, html);
  return Buffer.byteLength(html);
}
