/**
 * Charts: Vega-Lite specs compiled by vega-lite and rendered to SVG by vega's headless SVG
 * renderer (`renderer: 'none'` + `toSVG()`), so the report needs no browser and no script.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type VegaLiteSpec = TopLevelSpec;

const FONT = "'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', sans-serif";

/** Shared look: the report's font, quiet axes, no outer border. */
export const CHART_CONFIG = {
  font: FONT,
  view: { stroke: '#e2e8f0' },
  axis: {
    labelColor: '#334155',
    titleColor: '#0f172a',
    gridColor: '#eef2f7',
    labelFontSize: 11,
    titleFontSize: 12,
  },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, labelFontWeight: 600 },
  title: { fontSize: 14, anchor: 'start', color: '#0f172a' },
  range: {
    category: [
      '#2563eb',
      '#ea580c',
      '#16a34a',
      '#7c3aed',
      '#db2777',
      '#0891b2',
      '#ca8a04',
      '#64748b',
      '#dc2626',
      '#4f46e5',
    ],
  },
} as const;

/** One colour per series, fixed by position, so a run has the same colour in every chart. */
export function seriesColors(names: string[]): { domain: string[]; range: string[] } {
  const palette = CHART_CONFIG.range.category;
  return { domain: names, range: names.map((_, i) => palette[i % palette.length]) };
}

let chartCounter = 0;

/**
 * Makes every id in the SVG unique to this chart. Vega numbers its clip paths and gradients
 * per renderer (clip1, clip2…), so two charts inlined in one HTML page would otherwise share
 * ids and clip each other.
 */
export function uniquifySvgIds(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/(?<![\w-])id="([^"]+)"/g)].map((m) => m[1]));
  if (ids.size === 0) return svg;
  let out = svg.replace(/(?<![\w-])id="([^"]+)"/g, (_, id: string) => `id="${prefix}-${id}"`);
  out = out.replace(/url\(#([^)]+)\)/g, (m, id: string) => (ids.has(id) ? `url(#${prefix}-${id})` : m));
  out = out.replace(/href="#([^"]+)"/g, (m, id: string) => (ids.has(id) ? `href="#${prefix}-${id}"` : m));
  return out;
}

/** Compiles a Vega-Lite spec and renders it to an SVG string, server-side. */
export async function renderVegaLite(spec: VegaLiteSpec): Promise<string> {
  const withConfig = { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as VegaLiteSpec;
  const compiled = compile(withConfig).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    chartCounter += 1;
    return uniquifySvgIds(svg, `vg${chartCounter}`);
  } finally {
    view.finalize();
  }
}
