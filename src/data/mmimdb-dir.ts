/**
 * MM-IMDB in its official directory layout: `split.json` ({train, dev, test}: lists of ids) and
 * `dataset/<id>.json` + `dataset/<id>.jpeg`.
 *
 * What each problem costs (nothing is dropped silently; every case below is a RecordIssue):
 * - drops the record: invalid JSON, a JSON that is not an object, no known genre, an id in
 *   split.json with no JSON file, a movie with neither a usable plot nor a usable poster;
 * - drops one input only: missing/empty plot (plot = null, the poster stays), missing, corrupt
 *   or truncated poster (posterPath = null, the plot stays);
 * - warnings, the record is kept whole: a PNG/GIF/WebP under a .jpeg name, genres outside the 23
 *   (News, Adult... dropped as the paper did), a duplicate id (kept once, in the first split
 *   that lists it, in train → dev → test order), a file in dataset/ that no split lists (not loaded).
 */
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { MMIMDB_DROPPED_GENRES, MMIMDB_GENRES } from './genres.js';
import { DatasetFormatError } from './format-error.js';
import { isPlaceholderPlot } from './placeholder.js';
import { checkPosters, type PosterCandidate } from './posters.js';
import {
  SPLITS,
  type Dataset,
  type MovieRecord,
  type RecordIssue,
  type SplitName,
  type LoadOptions,
} from './types.js';

const SplitFile = z.object({
  train: z.array(z.union([z.string(), z.number()])).optional(),
  dev: z.array(z.union([z.string(), z.number()])).optional(),
  test: z.array(z.union([z.string(), z.number()])).optional(),
});

const KNOWN = new Set<string>(MMIMDB_GENRES);
const DROPPED = new Set<string>(MMIMDB_DROPPED_GENRES);

/** Load an MM-IMDB directory. Throws DatasetFormatError only when `root` is not such a directory. */
export async function loadMmimdbDir(root: string, opts: LoadOptions = {}): Promise<Dataset> {
  root = resolve(root);
  const dataDir = join(root, 'dataset');
  const splitPath = join(root, 'split.json');
  const issues: RecordIssue[] = [];

  const splitIds = await readSplitFile(splitPath, issues);
  let files: string[];
  try {
    files = await readdir(dataDir);
  } catch (err) {
    throw new DatasetFormatError(`cannot read ${dataDir}: ${(err as Error).message}`);
  }
  const present = new Set(files);

  // Assign each id to one split; duplicates are reported and kept in their first split.
  const splitOf = new Map<string, SplitName>();
  const ordered: string[] = [];
  for (const split of SPLITS) {
    for (const id of splitIds[split]) {
      const first = splitOf.get(id);
      if (first) {
        issues.push({
          kind: 'duplicate-id',
          severity: 'warning',
          id,
          file: splitPath,
          message:
            first === split
              ? `id ${id} is listed twice in split '${split}'; kept once`
              : `id ${id} is in both '${first}' and '${split}'; kept in '${first}' only`,
        });
        continue;
      }
      splitOf.set(id, split);
      ordered.push(id);
    }
  }

  // Files that no split lists: reported, not loaded (a model would not know which split they are in).
  const stray = new Set<string>();
  for (const f of files) {
    const m = /^(.+)\.(json|jpe?g|png|gif)$/i.exec(f);
    if (m && !splitOf.has(m[1]) && !stray.has(m[1])) {
      stray.add(m[1]);
      issues.push({
        kind: 'file-not-in-split',
        severity: 'warning',
        id: m[1],
        file: join(dataDir, f),
        message: `${f} is in dataset/ but no split in split.json lists id ${m[1]}; not loaded`,
      });
    }
  }

  // Small files read synchronously in batches: each async fs call is a thread-pool round trip,
  // which made loading 2-4x slower; yielding between batches keeps the event loop responsive.
  const parsed: Parsed[] = [];
  for (let start = 0; start < ordered.length; start += 256) {
    for (const id of ordered.slice(start, start + 256)) {
      parsed.push(readMovieJson(dataDir, id, present.has(`${id}.json`), present.has(`${id}.jpeg`)));
    }
    await yieldToEventLoop();
  }

  const candidates: PosterCandidate[] = [];
  const drafts: MovieRecord[] = [];
  parsed.forEach((p, i) => {
    issues.push(...p.issues);
    if (!p.record) return;
    const record = { ...p.record, split: splitOf.get(ordered[i]) };
    drafts.push(record);
    if (record.posterPath) candidates.push({ id: record.id, path: record.posterPath, expected: 'jpeg' });
  });

  const posters = await checkPosters(candidates, { decode: opts.verifyPosters, progress: opts.progress });
  issues.push(...posters.issues);

  const records: MovieRecord[] = [];
  const splits: Record<SplitName, string[]> = { train: [], dev: [], test: [] };
  for (const r of drafts) {
    const posterPath = r.posterPath ? (posters.paths.get(r.id) ?? null) : null;
    if (r.plot === null && posterPath === null) {
      issues.push({
        kind: 'no-usable-input',
        severity: 'error',
        id: r.id,
        file: join(dataDir, `${r.id}.json`),
        message: `movie ${r.id} has neither a usable plot nor a usable poster; dropped`,
      });
      continue;
    }
    records.push({ ...r, posterPath });
    if (r.split) splits[r.split].push(r.id);
  }

  return {
    name: 'mmimdb',
    root,
    format: 'mmimdb-dir',
    labels: [...MMIMDB_GENRES],
    records,
    splits,
    issues,
    scanned: ordered.length,
  };
}

async function readSplitFile(path: string, issues: RecordIssue[]): Promise<Record<SplitName, string[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new DatasetFormatError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const line = jsonErrorLine(text, err as Error);
    throw new DatasetFormatError(
      `${path}${line ? `:${line}` : ''} is not valid JSON (${(err as Error).message}); ` +
        'the split file is needed to know which movie belongs to which split',
    );
  }
  const parsed = SplitFile.safeParse(raw);
  if (!parsed.success) {
    throw new DatasetFormatError(
      `${path} must be an object {train, dev, test} of id lists: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  const out: Record<SplitName, string[]> = { train: [], dev: [], test: [] };
  for (const split of SPLITS) {
    const ids = parsed.data[split];
    if (!ids) {
      issues.push({
        kind: 'missing-field',
        severity: 'warning',
        file: path,
        message: `split.json has no '${split}' list; that split is empty`,
      });
      continue;
    }
    out[split] = ids.map(String);
  }
  if (SPLITS.every((s) => out[s].length === 0)) {
    throw new DatasetFormatError(`${path} lists no movie ids`);
  }
  return out;
}

interface Parsed {
  record: MovieRecord | null;
  issues: RecordIssue[];
}

/** Read and validate one `<id>.json`; the poster is only located here, checked later in bulk. */
function readMovieJson(dataDir: string, id: string, hasJson: boolean, hasPoster: boolean): Parsed {
  const file = join(dataDir, `${id}.json`);
  const posterFile = join(dataDir, `${id}.jpeg`);
  const issues: RecordIssue[] = [];
  if (!hasJson) {
    issues.push({
      kind: hasPoster ? 'missing-json' : 'split-id-without-file',
      severity: 'error',
      id,
      file,
      message: hasPoster
        ? `id ${id} has a poster but no ${id}.json (no genres, no plot); dropped`
        : `id ${id} is listed in split.json but dataset/ has no ${id}.json or ${id}.jpeg; dropped`,
    });
    return { record: null, issues };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    issues.push({
      kind: 'invalid-json',
      severity: 'error',
      id,
      file,
      message: `cannot read: ${(err as Error).message}; dropped`,
    });
    return { record: null, issues };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const line = jsonErrorLine(text, err as Error);
    issues.push({
      kind: 'invalid-json',
      severity: 'error',
      id,
      file,
      ...(line ? { line } : {}),
      message: `invalid JSON: ${(err as Error).message}; dropped`,
    });
    return { record: null, issues };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({
      kind: 'invalid-json',
      severity: 'error',
      id,
      file,
      message: `expected a JSON object, found ${Array.isArray(raw) ? 'an array' : typeof raw}; dropped`,
    });
    return { record: null, issues };
  }
  const { plot: rawPlot, genres: rawGenres, title, ...meta } = raw as Record<string, unknown>;

  const genres = pickGenres(rawGenres, id, file, issues);
  if (genres.length === 0) return { record: null, issues };

  const plot = pickPlot(rawPlot, id, file, issues);
  if (!hasPoster) {
    issues.push({
      kind: 'missing-poster',
      severity: 'error',
      id,
      file: posterFile,
      message: `no poster ${id}.jpeg; the movie keeps its plot, without a poster`,
    });
  }
  const record: MovieRecord = {
    id,
    ...(typeof title === 'string' ? { title } : {}),
    plot,
    genres,
    posterPath: hasPoster ? posterFile : null,
    meta,
  };
  return { record, issues };
}

/** Genres restricted to the 23; anything else is a warning, and none left drops the movie. */
function pickGenres(raw: unknown, id: string, file: string, issues: RecordIssue[]): string[] {
  if (!Array.isArray(raw)) {
    issues.push({
      kind: 'no-known-genre',
      severity: 'error',
      id,
      file,
      message:
        raw === undefined ? `no 'genres' list; dropped` : `'genres' is not a list (${typeof raw}); dropped`,
    });
    return [];
  }
  const genres: string[] = [];
  const unknown: string[] = [];
  for (const g of raw) {
    if (typeof g === 'string' && KNOWN.has(g)) {
      if (!genres.includes(g)) genres.push(g);
    } else {
      unknown.push(typeof g === 'string' ? g : JSON.stringify(g));
    }
  }
  const notDropped = unknown.filter((g) => !DROPPED.has(g));
  // With no known genre left, the no-known-genre error below names them instead.
  if (unknown.length && genres.length) {
    issues.push({
      kind: 'unknown-genre',
      severity: 'warning',
      id,
      file,
      message:
        notDropped.length === 0
          ? `genre(s) ${unknown.join(', ')} left out (removed from the label set, as in the paper)`
          : `genre(s) ${unknown.join(', ')} are not among the 23 MM-IMDB genres; left out`,
    });
  }
  if (genres.length === 0) {
    issues.push({
      kind: 'no-known-genre',
      severity: 'error',
      id,
      file,
      message: `none of the genres [${unknown.join(', ')}] is one of the 23 MM-IMDB genres; dropped`,
    });
  }
  return genres;
}

/** The longest plot (as the paper did), raw: the tokeniser strips IMDb's `::author` suffix. */
function pickPlot(raw: unknown, id: string, file: string, issues: RecordIssue[]): string | null {
  if (raw === undefined || raw === null) {
    issues.push({
      kind: 'missing-plot',
      severity: 'error',
      id,
      file,
      message: `no 'plot'; the movie keeps its poster, without a plot`,
    });
    return null;
  }
  const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : null;
  if (!list) {
    issues.push({
      kind: 'malformed-field',
      severity: 'error',
      id,
      file,
      message: `'plot' must be a list of strings, found ${typeof raw}; the movie keeps its poster, without a plot`,
    });
    return null;
  }
  let best = '';
  for (const p of list) if (typeof p === 'string' && p.trim().length > best.trim().length) best = p;
  if (best.trim() === '') {
    issues.push({
      kind: 'empty-plot',
      severity: 'error',
      id,
      file,
      message: `'plot' is empty; the movie keeps its poster, without a plot`,
    });
    return null;
  }
  if (isPlaceholderPlot(best)) {
    issues.push({
      kind: 'placeholder-plot',
      severity: 'warning',
      id,
      file,
      message: `the plot is only a placeholder ('${best.replace(/::.*$/s, '').trim()}'); the movie keeps its poster, without a plot`,
    });
    return null;
  }
  return best;
}

/** The 1-based line of a JSON.parse error, from the "position N" its message gives (Node 20 and later). */
export function jsonErrorLine(text: string, err: Error): number | undefined {
  const m = /line (\d+)/.exec(err.message) ?? null;
  if (m) return Number(m[1]);
  const pos = /position (\d+)/.exec(err.message);
  if (!pos) return undefined;
  const at = Math.min(Number(pos[1]), text.length);
  let line = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
