/** Small HTML building blocks shared by the report's sections. */
import { escapeHtml } from './text.js';

export interface ReportSection {
  id: string;
  title: string;
  html: string;
}

/** A section: heading, optional explanation, body. `html` parts must already be escaped. */
export function section(id: string, title: string, intro: string, body: string): ReportSection {
  const p = intro ? `<p class="intro">${intro}</p>` : '';
  return {
    id,
    title,
    html: `<section id="${id}" class="report-section" data-section="${id}"><h2>${escapeHtml(title)}</h2>${p}${body}</section>`,
  };
}

/** The visible note that replaces a chart whose data is missing. */
export function missing(message: string): string {
  return `<p class="missing" data-missing="true">${escapeHtml(message)}</p>`;
}

/** A chart in a horizontally scrolling frame, with a caption. */
export function figure(svg: string, caption: string, kind: string): string {
  return `<figure class="chart" data-chart="${escapeHtml(kind)}"><div class="chart-frame">${svg}</div><figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

export function notes(items: string[]): string {
  if (items.length === 0) return '';
  return `<ul class="notes">${items.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`;
}
