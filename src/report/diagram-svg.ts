/**
 * Draws a laid-out model diagram as SVG. Hand-written on purpose: ELK computes positions only,
 * and no maintained library renders ELK's output to SVG server-side (elkjs' own renderers are
 * browser/sprotty based). What is drawn is deliberately plain: boxes, clusters, orthogonal
 * polylines with arrowheads, a title and a legend; every text is escaped.
 */
import type { BoxCategory } from './diagram-model.js';
import {
  BOX_STYLE,
  type DiagramLayout,
  type PlacedBox,
  type PlacedCluster,
  type PlacedEdge,
} from './diagram-layout.js';
import { escapeXml, textWidth } from './text.js';

export interface DiagramSvgOptions {
  title?: string;
  subtitle?: string;
  /** Prefix for ids inside the SVG (markers, patterns), so several diagrams can share one HTML page. */
  idPrefix?: string;
  /** Draw the legend (default true). */
  legend?: boolean;
}

const FONT = "'Helvetica Neue', Helvetica, Arial, 'DejaVu Sans', sans-serif";

export const CATEGORY_STYLE: Record<
  BoxCategory,
  { fill: string; stroke: string; name: string; dashed?: boolean }
> = {
  input: { fill: '#dbeafe', stroke: '#2563eb', name: 'input (cached features)' },
  layer: { fill: '#dcfce7', stroke: '#16a34a', name: 'trainable layer' },
  regularise: { fill: '#f8fafc', stroke: '#94a3b8', name: 'regularisation (no weights)', dashed: true },
  fusion: { fill: '#ffedd5', stroke: '#ea580c', name: 'fusion / merge' },
  output: { fill: '#ede9fe', stroke: '#7c3aed', name: 'output (sigmoid per genre)' },
};
const FROZEN = { fill: '#e2e8f0', stroke: '#475569' };

const n = (v: number): string => String(Math.round(v * 10) / 10);

function lockIcon(x: number, y: number, color: string): string {
  // A padlock 10×12 whose top-left is (x, y): shackle arc over a body.
  return (
    `<g class="lock" aria-label="frozen"><path d="M${n(x + 2)} ${n(y + 6)} v-2.5 a3 3 0 0 1 6 0 v2.5" fill="none" stroke="${color}" stroke-width="1.6"/>` +
    `<rect x="${n(x)}" y="${n(y + 5.5)}" width="10" height="7" rx="1.2" fill="${color}"/></g>`
  );
}

function defs(p: string): string {
  return (
    `<defs>` +
    `<marker id="${p}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
    `<path d="M0 0 L10 5 L0 10 z" fill="#475569"/></marker>` +
    `<pattern id="${p}-hatch" width="7" height="7" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
    `<rect width="7" height="7" fill="${FROZEN.fill}"/><line x1="0" y1="0" x2="0" y2="7" stroke="#94a3b8" stroke-width="2.2"/></pattern>` +
    `</defs>`
  );
}

function drawCluster(c: PlacedCluster, p: string): string {
  const fill = c.frozen ? `url(#${p}-hatch)` : '#f8fafc';
  const label = c.frozen ? `${c.name} (frozen)` : c.name;
  return (
    `<g class="cluster" data-group="${escapeXml(c.name)}">` +
    `<rect x="${n(c.x)}" y="${n(c.y)}" width="${n(c.width)}" height="${n(c.height)}" rx="10" fill="${fill}" fill-opacity="${c.frozen ? 0.5 : 1}" stroke="#94a3b8" stroke-dasharray="6 4"/>` +
    `<text x="${n(c.x + 12)}" y="${n(c.y + 20)}" font-size="12" font-weight="600" fill="#475569">${escapeXml(label)}</text>` +
    `</g>`
  );
}

function drawBox(b: PlacedBox, p: string): string {
  const s = BOX_STYLE;
  const style = CATEGORY_STYLE[b.category];
  const fill = b.frozen ? `url(#${p}-hatch)` : style.fill;
  const stroke = b.frozen ? FROZEN.stroke : style.stroke;
  const dash = style.dashed && !b.frozen ? ' stroke-dasharray="4 3"' : '';
  const cx = b.x + b.width / 2;
  let y = b.y + s.padY + s.titleSize;
  const parts = [
    `<g class="node" data-id="${escapeXml(b.id)}" data-category="${b.category}"${b.frozen ? ' data-frozen="true"' : ''}>`,
    `<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.width)}" height="${n(b.height)}" rx="6" fill="${fill}" stroke="${stroke}" stroke-width="1.4"${dash}/>`,
  ];
  const titleX = b.frozen ? cx + s.lockWidth / 2 : cx;
  parts.push(
    `<text x="${n(titleX)}" y="${n(y)}" text-anchor="middle" font-size="${s.titleSize}" font-weight="700" fill="#0f172a">${escapeXml(b.title)}</text>`,
  );
  if (b.frozen) {
    const tw = textWidth(b.title, s.titleSize, true);
    parts.push(lockIcon(titleX - tw / 2 - s.lockWidth, y - 11, FROZEN.stroke));
  }
  for (const line of b.lines) {
    y += s.lineHeight;
    parts.push(
      `<text x="${n(cx)}" y="${n(y)}" text-anchor="middle" font-size="${s.lineSize}" fill="#334155">${escapeXml(line)}</text>`,
    );
  }
  parts.push('</g>');
  return parts.join('');
}

function drawEdge(e: PlacedEdge, p: string): string {
  const d = e.points.map((pt, i) => `${i === 0 ? 'M' : 'L'}${n(pt.x)} ${n(pt.y)}`).join(' ');
  return `<path class="edge" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}" d="${d}" fill="none" stroke="#475569" stroke-width="1.3" marker-end="url(#${p}-arrow)"/>`;
}

const LEGEND_ROW = 22;

function legendItems(): Array<{
  label: string;
  fill: string;
  stroke: string;
  dashed?: boolean;
  frozen?: boolean;
}> {
  return [
    ...Object.values(CATEGORY_STYLE).map((c) => ({
      label: c.name,
      fill: c.fill,
      stroke: c.stroke,
      dashed: c.dashed,
    })),
    { label: 'frozen (weights not trained)', fill: 'hatch', stroke: FROZEN.stroke, frozen: true },
    { label: 'group (cluster)', fill: '#f8fafc', stroke: '#94a3b8', dashed: true },
  ];
}

/** Legend laid out in rows that fit `width`; returns the SVG and its height. */
function drawLegend(x0: number, y0: number, width: number, p: string): { svg: string; height: number } {
  const parts: string[] = [`<g class="legend" font-size="11" fill="#334155">`];
  let x = x0;
  let y = y0;
  for (const item of legendItems()) {
    const w = 26 + textWidth(item.label, 11) + 18;
    if (x + w > x0 + width && x > x0) {
      x = x0;
      y += LEGEND_ROW;
    }
    const fill = item.fill === 'hatch' ? `url(#${p}-hatch)` : item.fill;
    const dash = item.dashed ? ' stroke-dasharray="4 3"' : '';
    parts.push(
      `<rect x="${n(x)}" y="${n(y)}" width="20" height="13" rx="3" fill="${fill}" stroke="${item.stroke}"${dash}/>`,
    );
    if (item.frozen) parts.push(lockIcon(x + 5, y, FROZEN.stroke));
    parts.push(`<text x="${n(x + 26)}" y="${n(y + 11)}">${escapeXml(item.label)}</text>`);
    x += w;
  }
  parts.push('</g>');
  return { svg: parts.join(''), height: y - y0 + LEGEND_ROW };
}

/** A standalone SVG document for a laid-out diagram. */
export function diagramToSvg(layout: DiagramLayout, opts: DiagramSvgOptions = {}): string {
  const p = (opts.idPrefix ?? 'mmg').replace(/[^A-Za-z0-9_-]/g, '_');
  const margin = 16;
  const titleH = opts.title ? (opts.subtitle ? 46 : 30) : 0;
  const minWidth = 560;
  const width = Math.max(layout.width + 2 * margin, minWidth);
  const gx = margin + Math.max(0, (width - 2 * margin - layout.width) / 2);
  const gy = margin + titleH;
  const legend =
    opts.legend === false
      ? { svg: '', height: 0 }
      : drawLegend(margin, gy + layout.height + 16, width - 2 * margin, p);
  const height = gy + layout.height + (legend.height ? 16 + legend.height : 0) + margin;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="mmgenre-diagram" width="${n(width)}" height="${n(height)}" viewBox="0 0 ${n(width)} ${n(height)}" font-family="${escapeXml(FONT)}" role="img">`,
  ];
  if (opts.title) out.push(`<title>${escapeXml(opts.title)}</title>`);
  out.push(defs(p));
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  if (opts.title) {
    out.push(
      `<text x="${margin}" y="${margin + 16}" font-size="16" font-weight="700" fill="#0f172a">${escapeXml(opts.title)}</text>`,
    );
    if (opts.subtitle) {
      out.push(
        `<text x="${margin}" y="${margin + 34}" font-size="12" fill="#475569">${escapeXml(opts.subtitle)}</text>`,
      );
    }
  }
  out.push(`<g transform="translate(${n(gx)} ${n(gy)})">`);
  for (const c of layout.clusters) out.push(drawCluster(c, p));
  for (const e of layout.edges) out.push(drawEdge(e, p));
  for (const b of layout.boxes) out.push(drawBox(b, p));
  out.push('</g>');
  out.push(legend.svg);
  out.push('</svg>');
  return out.join('\n');
}
