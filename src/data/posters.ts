/** Checks every candidate poster of a dataset in parallel and turns failures into record issues. */
import pLimit from 'p-limit';
import { checkPoster, type ImageKind, type PosterCheck } from './image-sniff.js';
import type { RecordIssue } from './types.js';
import { progress } from '../util/progress.js';

export interface PosterCandidate {
  id: string;
  /** Absolute path the dataset layout points to. */
  path: string;
  /** The file an issue should name (the poster itself, or the CSV for a TMDB row). */
  file?: string;
  line?: number;
  /** The format the file name announces, when it announces one. */
  expected?: ImageKind;
}

export interface PosterOptions {
  /** Decode every pixel with sharp (slow, thorough); otherwise existence + magic bytes. */
  decode?: boolean;
  /** Parallel decodes in flight: sharp decodes on libuv's pool (4 threads), so a few more keep both cores busy. */
  concurrency?: number;
  progress?: boolean;
}

/**
 * Check each candidate. Returns the usable path per id (null when the poster cannot be used:
 * the record keeps its other inputs) and the issues found, in candidate order.
 */
export async function checkPosters(
  candidates: PosterCandidate[],
  opts: PosterOptions = {},
): Promise<{ paths: Map<string, string | null>; issues: RecordIssue[] }> {
  const bar =
    opts.progress && opts.decode ? progress('verifying posters', candidates.length, { unit: 'img' }) : null;
  let results: PosterCheck[];
  if (opts.decode) {
    const limit = pLimit(opts.concurrency ?? 6);
    results = await Promise.all(
      candidates.map((c) =>
        limit(async () => {
          const r = await checkPoster(c.path, { decode: true, expected: c.expected });
          bar?.tick();
          return r;
        }),
      ),
    );
  } else {
    // Header sniffs are tiny reads: done synchronously in batches (an async fs call per file is a
    // thread-pool round trip, several times slower), yielding to the event loop between batches.
    results = [];
    for (let start = 0; start < candidates.length; start += 256) {
      for (const c of candidates.slice(start, start + 256)) {
        results.push(await checkPoster(c.path, { expected: c.expected, sync: true }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  bar?.stop();
  const paths = new Map<string, string | null>();
  const issues: RecordIssue[] = [];
  candidates.forEach((c, i) => {
    const r = results[i];
    const where = { id: c.id, file: c.file ?? c.path, ...(c.line !== undefined ? { line: c.line } : {}) };
    if (r.ok) {
      paths.set(c.id, c.path);
      if (r.warning) {
        issues.push({ kind: 'poster-format-mismatch', severity: 'warning', message: r.warning, ...where });
      }
      return;
    }
    paths.set(c.id, null);
    const kind =
      r.reason === 'missing'
        ? 'missing-poster'
        : r.reason === 'too-large'
          ? 'poster-too-large'
          : 'corrupt-poster';
    issues.push({
      kind,
      severity: 'error',
      message: `${r.message} (${c.path}); the movie keeps its plot, without a poster`,
      ...where,
    });
  });
  return { paths, issues };
}
