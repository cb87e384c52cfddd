/**
 * The web page's files (plain HTML/CSS/JS, no build step), read once at start-up and served from
 * a fixed table: a request path never becomes a file path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  type: string;
  body: Buffer;
}

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
  // Browsers ask for /favicon.ico whatever the page links: the same icon.
  '/favicon.ico': { file: 'favicon.svg', type: 'image/svg+xml' },
};

/** public/ beside this module (sources), or the package's src/serve/public (compiled dist/). */
export function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'public'), join(here, '..', '..', '..', 'src', 'serve', 'public')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`the web page's files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

export function loadStaticFiles(dir = publicDir()): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  for (const [route, { file, type }] of Object.entries(FILES)) {
    out.set(route, { type, body: readFileSync(join(dir, file)) });
  }
  return out;
}
