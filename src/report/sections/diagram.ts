/** The model diagram of each run, from its spec.json. */
import type { ReportContext } from '../context.js';
import { renderSpecDiagram } from '../diagram.js';
import { missing, section, type ReportSection } from '../html.js';
import { escapeHtml } from '../text.js';

export async function renderDiagramSection(ctx: ReportContext): Promise<ReportSection> {
  const parts: string[] = [];
  for (let k = 0; k < ctx.runs.length; k++) {
    const run = ctx.runs[k];
    parts.push(`<h3>${escapeHtml(run.name)}</h3>`);
    if (!run.spec) {
      parts.push(missing(`${run.name}: no readable spec.json, so no diagram.`));
      continue;
    }
    const svg = await renderSpecDiagram(run.spec, { idPrefix: `diagram${k}` });
    parts.push(
      `<figure class="chart" data-chart="diagram"><div class="chart-frame">${svg.replace(/^<\?xml[^>]*>/, '')}</div></figure>`,
    );
  }
  return section(
    'diagram',
    'Model diagram',
    'Each run’s model as trained, from its spec: inputs, layers with sizes, groups, frozen parts.',
    parts.join(''),
  );
}
