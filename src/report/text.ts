/** Escaping and text measuring shared by the hand-written SVG and HTML of the report. */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML/XML content and attribute values (the same five characters in both). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export const escapeHtml = escapeXml;

/**
 * Approximate width of `text` in pixels at `fontSize` in a sans-serif font. Server-side there is
 * no font engine to ask, and the diagram boxes must be sized before ELK lays them out, so this
 * uses average advance widths per character class (Helvetica/DejaVu-like), rounded up a little.
 */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if (/[ilj.,:;'|!()[\]]/.test(ch)) em += 0.3;
    else if (ch === ' ') em += 0.3;
    else if (/[mwMW@]/.test(ch)) em += 0.9;
    else if (/[A-Z]/.test(ch)) em += 0.7;
    else if (/[0-9]/.test(ch)) em += 0.58;
    else if (/[a-z]/.test(ch)) em += 0.55;
    else em += 0.65;
  }
  return em * fontSize * (bold ? 1.08 : 1);
}

/** A number for display: integers as-is, others with up to `digits` significant decimals. */
export function fmtNum(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}
