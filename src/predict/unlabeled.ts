/**
 * Unlabeled movies in, genres out: movies with no genres and no split, from a JSON Lines file, a
 * CSV file, a folder, or stdin, each predicted with a predictor into one JSON line. A movie that
 * cannot be read (bad JSON, no plot and no readable poster) is reported with its reason; the
 * others are predicted.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { MmgenreError } from '../util/errors.js';
import type { Predictor } from './predictor.js';
import { NoUsableInputError, type PredictInput, type Prediction } from './types.js';

/** One movie as read: its id (given, or its line/row/file name) and its inputs. */
export interface UnlabeledMovie {
  id: string;
  title?: string;
  input: PredictInput;
}

/** A movie that could not be read or predicted, and why. */
export interface UnreadableMovie {
  id: string;
  error: string;
}

export interface ReadMoviesResult {
  movies: UnlabeledMovie[];
  unreadable: UnreadableMovie[];
}

/** One output line: the predicted genres with their probabilities, every score, the gate. */
export interface MoviePrediction {
  id: string;
  title?: string;
  /** Predicted genres, most probable first. */
  genres: string[];
  /** Probability of each predicted genre. */
  probabilities: Record<string, number>;
  /** Probability of every genre. */
  scores: Record<string, number>;
  /** The threshold policy applied ('0.5': the default). */
  threshold: string;
  /** For a GMU: each modality's share of the fused representation. */
  gate?: Record<string, number>;
  inputsUsed: string[];
  inputsMissing: Prediction['inputsMissing'];
}

export class MovieInputError extends MmgenreError {
  constructor(message: string, hint?: string) {
    super('input', message, { hint });
  }
}

const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif'];

/** A plot given as a string or a list of strings (MM-IMDB's JSON keeps a list). */
function plotOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join('\n');
  return undefined;
}

/** A movie from a parsed object; posters relative to `base`. */
function movieOf(raw: unknown, fallbackId: string, base: string): UnlabeledMovie | UnreadableMovie {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    return { id: fallbackId, error: 'not a JSON object' };
  const o = raw as Record<string, unknown>;
  const id = o.id === undefined || o.id === null || o.id === '' ? fallbackId : String(o.id);
  const plot = plotOf(o.plot);
  if (o.plot !== undefined && o.plot !== null && plot === undefined)
    return { id, error: 'plot must be a string (or a list of strings)' };
  const posterField = o.poster ?? o.poster_path ?? o.posterPath;
  if (posterField !== undefined && posterField !== null && typeof posterField !== 'string')
    return { id, error: 'poster must be a file path' };
  const posterRaw =
    typeof posterField === 'string' && posterField.trim() !== '' ? posterField.trim() : undefined;
  if (posterRaw && /^[a-z][a-z0-9+.-]*:\/\//i.test(posterRaw))
    return { id, error: `poster ${posterRaw} is a URL: give a file on disk (nothing is downloaded)` };
  const poster = posterRaw ? (isAbsolute(posterRaw) ? posterRaw : resolve(base, posterRaw)) : undefined;
  const title = typeof o.title === 'string' ? o.title : undefined;
  if (!poster && (plot === undefined || plot.trim() === ''))
    return { id, error: 'no plot and no poster: nothing to predict from' };
  return { id, title, input: { plot, poster, title } };
}

function collect(items: Array<UnlabeledMovie | UnreadableMovie>): ReadMoviesResult {
  const movies: UnlabeledMovie[] = [];
  const unreadable: UnreadableMovie[] = [];
  for (const m of items) ('error' in m ? unreadable : movies).push(m as never);
  return { movies, unreadable };
}

/** JSON Lines text: one movie object per line; blank lines skipped; posters relative to `base`. */
export function parseMoviesJsonl(text: string, base: string): ReadMoviesResult {
  const items: Array<UnlabeledMovie | UnreadableMovie> = [];
  text.split(/\r?\n/).forEach((line, k) => {
    if (line.trim() === '') return;
    const fallback = `line-${k + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      items.push({ id: fallback, error: `line ${k + 1}: invalid JSON (${(err as Error).message})` });
      return;
    }
    items.push(movieOf(raw, fallback, base));
  });
  return collect(items);
}

/** CSV with a header row: columns id, title, plot, poster (any order; others ignored). */
export function parseMoviesCsv(text: string, base: string): ReadMoviesResult {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, relax_column_count: true });
  } catch (err) {
    throw new MovieInputError(`not a readable CSV file: ${(err as Error).message}`);
  }
  return collect(rows.map((r, k) => movieOf(r, `row-${k + 1}`, base)));
}

/**
 * A folder: one movie per `<id>.json` (title, plot; MM-IMDB's per-movie files qualify), with the
 * poster `<id>.jpeg` (or .jpg, .png, .webp, .gif) beside it; a poster alone, or a `<id>.txt` plot,
 * is a movie too. A `dataset/` folder inside (MM-IMDB's layout) is read instead when present.
 */
export function readMoviesDir(dir: string): ReadMoviesResult {
  const root = existsSync(join(dir, 'dataset')) ? join(dir, 'dataset') : dir;
  const byId = new Map<string, { json?: string; txt?: string; poster?: string }>();
  for (const name of readdirSync(root).sort()) {
    const ext = extname(name).toLowerCase();
    const id = basename(name, extname(name));
    const entry = byId.get(id) ?? {};
    const path = join(root, name);
    if (ext === '.json') entry.json = path;
    else if (ext === '.txt') entry.txt = path;
    else if (IMAGE_EXTENSIONS.includes(ext)) entry.poster = path;
    else continue;
    byId.set(id, entry);
  }
  const items: Array<UnlabeledMovie | UnreadableMovie> = [];
  for (const [id, e] of byId) {
    let raw: Record<string, unknown> = {};
    if (e.json) {
      try {
        const parsed = JSON.parse(readFileSync(e.json, 'utf8')) as unknown;
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
          items.push({ id, error: `${basename(e.json)}: not a JSON object` });
          continue;
        }
        raw = parsed as Record<string, unknown>;
      } catch (err) {
        items.push({ id, error: `${basename(e.json)}: invalid JSON (${(err as Error).message})` });
        continue;
      }
    }
    if (raw.plot === undefined && e.txt) raw = { ...raw, plot: readFileSync(e.txt, 'utf8') };
    items.push(movieOf({ ...raw, id, poster: raw.poster ?? e.poster }, id, root));
  }
  return collect(items);
}

/** Movies from a path: a .jsonl/.json-lines file, a .csv file or a folder. */
export function readUnlabeledMovies(path: string): ReadMoviesResult {
  if (!existsSync(path)) throw new MovieInputError(`input not found: ${path}`);
  const st = statSync(path);
  if (st.isDirectory()) return readMoviesDir(path);
  if (!st.isFile()) throw new MovieInputError(`input ${path} is not a file or a folder`);
  const text = readFileSync(path, 'utf8');
  const base = dirname(resolve(path));
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return parseMoviesCsv(text, base);
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return parseMoviesJsonl(text, base);
  throw new MovieInputError(
    `input ${path}: unknown kind '${ext || '(no extension)'}'`,
    'give a .jsonl or .csv file, a folder of <id>.json / <id>.jpeg files, or - for JSON Lines on stdin',
  );
}

const BATCH = 64;

/**
 * Predict every movie; `onLine` receives each result in input order (a prediction or an
 * unreadable movie), so that output streams as it goes.
 */
export async function predictMovies(
  predictor: Predictor,
  movies: UnlabeledMovie[],
  onLine: (line: MoviePrediction | UnreadableMovie) => void,
): Promise<{ predicted: number; failed: UnreadableMovie[] }> {
  const failed: UnreadableMovie[] = [];
  let predicted = 0;
  for (let start = 0; start < movies.length; start += BATCH) {
    const batch = movies.slice(start, start + BATCH);
    const settled = await predictor.predictSettled(batch.map((m) => m.input));
    settled.forEach((p, j) => {
      const m = batch[j];
      if (p instanceof NoUsableInputError) {
        const bad = { id: m.id, error: p.message };
        failed.push(bad);
        onLine(bad);
        return;
      }
      const line: MoviePrediction = {
        id: m.id,
        ...(m.title !== undefined ? { title: m.title } : {}),
        genres: p.genres,
        probabilities: Object.fromEntries(p.genres.map((g) => [g, p.scores[g]])),
        scores: p.scores,
        threshold: p.thresholds.kind,
        ...(p.contributions ? { gate: p.contributions } : {}),
        inputsUsed: p.inputsUsed,
        inputsMissing: p.inputsMissing,
      };
      predicted++;
      onLine(line);
    });
  }
  return { predicted, failed };
}
