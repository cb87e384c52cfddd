/**
 * Response headers and request checks that keep the page and the API safe to open in a browser:
 * a Content-Security-Policy per kind of answer, nosniff, no framing by other sites, no referrer to
 * other sites, and (on a loopback address) a Host check against DNS rebinding. Written here rather
 * than with a helmet-style plugin because the policy differs per answer (page, report, API) and
 * the Host check is specific to where the server listens: a dozen lines either way.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** The page: its own script and styles (inline style attributes set by the script), images from itself or the user's file. */
const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

/** The report: one self-contained HTML file (inline styles and SVG, images as data: URLs), no scripts. */
const REPORT_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

/** JSON, images, scripts: nothing to run or embed. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

export function securityHeaders(reply: FastifyReply, kind: 'page' | 'report' | 'api'): void {
  void reply
    .header('content-security-policy', kind === 'page' ? PAGE_CSP : kind === 'report' ? REPORT_CSP : API_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', kind === 'api' ? 'DENY' : 'SAMEORIGIN')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * On a loopback address only loopback names are served: a page on another site whose name was
 * re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host and is refused.
 */
export function checkHost(req: FastifyRequest): void {
  const raw = String(req.headers.host ?? '');
  const name = raw.startsWith('[') ? raw.slice(1, raw.indexOf(']')) : raw.replace(/:\d+$/, '');
  if (!isLoopback(name.toLowerCase())) {
    throw new HttpError(
      421,
      'bad_host',
      'this server listens on a loopback address and answers only to localhost, 127.0.0.1 or [::1]',
    );
  }
}
