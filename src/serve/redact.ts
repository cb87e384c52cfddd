/**
 * Answers name movies and runs, never the server's files: absolute paths in messages and run
 * details (dataset folders, caches, temporary posters) are cut to their last component.
 */
import { basename } from 'node:path';

/** An absolute POSIX path of two or more components, or a Windows drive path; not an /api/ route. */
const ABSOLUTE_PATH =
  /(?<![\w.:/-])(?:\/(?!api\/)(?:[^\s/'"`()<>,;:]+\/)+[^\s/'"`()<>,;:]*|[A-Za-z]:\\[^\s'"`<>,;]+)/g;

/** `message` with every absolute path replaced by its file name. */
export function redactPaths(message: string): string {
  return message.replace(ABSOLUTE_PATH, (p) => basename(p.replace(/\\/g, '/').replace(/\/+$/, '')) || '.');
}

/** A JSON value with every string passed through redactPaths (objects and arrays copied). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactPaths(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !Buffer.isBuffer(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}
