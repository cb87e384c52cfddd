/** Well-formedness checks for the SVG and HTML the report writes. */
import assert from 'node:assert/strict';
import { XMLValidator } from 'fast-xml-parser';

/** Fails the test naming the line when `xml` is not well-formed XML. */
export function assertWellFormedXml(xml: string, what: string): void {
  const r = XMLValidator.validate(xml, { allowBooleanAttributes: true });
  if (r !== true)
    assert.fail(`${what} is not well-formed XML: ${r.err.msg} (line ${r.err.line}, col ${r.err.col})`);
}

/** Every inline <svg>…</svg> of an HTML page (not nested). */
export function inlineSvgs(html: string): string[] {
  return [...html.matchAll(/<svg\b[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/** References that would make a page fetch from the network (src/href/url()/@import to http(s)). */
export function networkReferences(html: string): string[] {
  const patterns = [
    /\b(?:src|href|xlink:href|poster|data|action)\s*=\s*["']?\s*(?:https?:)?\/\/[^"'\s>]*/gi,
    /url\(\s*["']?\s*(?:https?:)?\/\/[^)]*\)/gi,
    /@import\s+[^;]*(?:https?:)?\/\//gi,
  ];
  return patterns.flatMap((p) => [...html.matchAll(p)].map((m) => m[0]));
}
