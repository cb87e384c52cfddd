/**
 * TMDB / "The Movies Dataset": `movies_metadata.csv` plus a `posters/` folder beside it whose
 * files are named by `poster_path`.
 *
 * Labels: TMDB's own genre set, TMDB_GENRES, in alphabetical order so that the column order is
 * fixed and does not depend on which rows a file holds. Mapping to MM-IMDB (TMDB_TO_MMIMDB in
 * genres.ts): 'Science Fiction' is MM-IMDB's 'Sci-Fi'; 'TV Movie' and 'Foreign' have no MM-IMDB
 * counterpart; the other 17 have the same name in both. MM-IMDB genres that TMDB lacks:
 * Biography, Sport, Musical, Short, Film-Noir.
 *
 * Record id: the `imdb_id` (e.g. 'tt0114709') when it is valid, else `tmdb-<id>`. The original
 * file repeats some movies: the first row wins, later ones are reported as duplicates.
 *
 * What each problem costs (each is a RecordIssue with the CSV line, never fatal):
 * - drops the row: a malformed row (wrong column count, a non-numeric id, shifted fields), a
 *   `genres` cell that is not a Python literal list, no TMDB genre, a duplicate, no usable input;
 * - drops one input: missing/empty overview (plot = null), no or unusable poster (posterPath = null);
 * - warnings: an unparsable `production_companies` (companies = []), an unknown genre name,
 *   a PNG/GIF poster under a .jpg name.
 *
 * TMDB has no official split: a seeded stratified split (split.ts, the MM-IMDB procedure) is made.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { ImageKind } from './image-sniff.js';
import { DatasetFormatError } from './format-error.js';
import { checkPosters, type PosterCandidate } from './posters.js';
import { parseNamedList } from './python-literal.js';
import { stratifiedSplit } from './split.js';
import type { Dataset, MovieRecord, RecordIssue, LoadOptions } from './types.js';

/** TMDB's movie genres (the 19 of its API plus 'Foreign', found in The Movies Dataset), alphabetical. */
export const TMDB_GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Family',
  'Fantasy',
  'Foreign',
  'History',
  'Horror',
  'Music',
  'Mystery',
  'Romance',
  'Science Fiction',
  'TV Movie',
  'Thriller',
  'War',
  'Western',
] as const;

const KNOWN = new Set<string>(TMDB_GENRES);
/** Overviews that TMDB uses as placeholders for "none". */
const PLACEHOLDER_OVERVIEWS = new Set(['no overview found.', 'no overview', 'no overview.', 'none']);
const REQUIRED_COLUMNS = ['id', 'genres', 'overview'] as const;

/** Load a TMDB CSV (`path` is the CSV or a folder holding `movies_metadata.csv`). */
export async function loadTmdb(path: string, opts: LoadOptions = {}): Promise<Dataset> {
  let csvPath = resolve(path);
  if ((await stat(csvPath)).isDirectory()) csvPath = join(csvPath, 'movies_metadata.csv');
  const root = dirname(csvPath);
  const postersDir = join(root, 'posters');
  let text: string;
  try {
    text = await readFile(csvPath, 'utf8');
  } catch (err) {
    throw new DatasetFormatError(`cannot read ${csvPath}: ${(err as Error).message}`);
  }

  const issues: RecordIssue[] = [];
  const rows = parseCsv(text, csvPath, issues);
  if (rows.length === 0) throw new DatasetFormatError(`${csvPath} is empty: no header row`);
  const header = rows[0].cells.map((h) => h.trim());
  const missingCols = REQUIRED_COLUMNS.filter((c) => !header.includes(c));
  if (missingCols.length) {
    throw new DatasetFormatError(
      `${csvPath} has no column(s) ${missingCols.join(', ')}: not a TMDB movies_metadata.csv`,
    );
  }
  const col = (name: string): number => header.indexOf(name);

  const drafts: MovieRecord[] = [];
  const lines = new Map<string, number>();
  const seenIds = new Map<string, number>();
  const seenTmdb = new Map<string, number>();
  const candidates: PosterCandidate[] = [];

  for (const { cells, line } of rows.slice(1)) {
    const at = { file: csvPath, line };
    if (cells.length !== header.length) {
      issues.push({
        kind: 'malformed-row',
        severity: 'error',
        ...at,
        message: `row has ${cells.length} fields, the header ${header.length}; dropped`,
      });
      continue;
    }
    const get = (name: string): string | undefined => (col(name) >= 0 ? cells[col(name)] : undefined);
    const tmdbId = (get('id') ?? '').trim();
    const adult = get('adult');
    if (!/^\d+$/.test(tmdbId) || (adult !== undefined && !/^(True|False)$/.test(adult.trim()))) {
      issues.push({
        kind: 'malformed-row',
        severity: 'error',
        ...at,
        message: `row fields are shifted or broken (id '${tmdbId.slice(0, 40)}'${
          adult !== undefined ? `, adult '${adult.slice(0, 40)}'` : ''
        }); dropped`,
      });
      continue;
    }
    const imdbId = (get('imdb_id') ?? '').trim();
    const id = /^tt\d+$/.test(imdbId) ? imdbId : `tmdb-${tmdbId}`;
    const firstLine = seenIds.get(id) ?? seenTmdb.get(tmdbId);
    if (firstLine !== undefined) {
      issues.push({
        kind: 'duplicate-id',
        severity: 'warning',
        id,
        ...at,
        message: `movie ${id} (TMDB id ${tmdbId}) repeats line ${firstLine}; the first row is kept`,
      });
      continue;
    }
    seenIds.set(id, line);
    seenTmdb.set(tmdbId, line);
    const where = { id, ...at };

    const genres = readGenres(get('genres') ?? '', where, issues);
    if (!genres) continue;

    let companies: string[] = [];
    const rawCompanies = get('production_companies');
    if (rawCompanies !== undefined && rawCompanies.trim() !== '') {
      try {
        companies = parseNamedList(rawCompanies);
      } catch (err) {
        issues.push({
          kind: 'malformed-field',
          severity: 'warning',
          ...where,
          message: `production_companies is not a Python list of dicts (${(err as Error).message}); companies left empty`,
        });
      }
    }

    const overview = get('overview');
    let plot: string | null = overview?.trim() ?? null;
    if (overview === undefined) {
      issues.push({ kind: 'missing-plot', severity: 'error', ...where, message: 'no overview column value' });
    } else if (plot === '' || PLACEHOLDER_OVERVIEWS.has(plot!.toLowerCase())) {
      issues.push({
        kind: 'empty-plot',
        severity: 'error',
        ...where,
        message: `overview is ${plot === '' ? 'empty' : `a placeholder ('${plot}')`}; the movie keeps its poster, without a plot`,
      });
      plot = null;
    }

    const posterRel = (get('poster_path') ?? '').trim();
    let posterPath: string | null = null;
    if (posterRel === '') {
      issues.push({
        kind: 'missing-poster',
        severity: 'error',
        ...where,
        message: 'no poster_path; the movie keeps its plot, without a poster',
      });
    } else {
      posterPath = join(postersDir, basename(posterRel));
      candidates.push({ id, path: posterPath, ...at, expected: expectedKind(posterRel) });
    }

    const consumed = new Set([
      'id',
      'imdb_id',
      'title',
      'overview',
      'genres',
      'production_companies',
      'poster_path',
    ]);
    const meta: Record<string, unknown> = { tmdbId, imdbId: imdbId || null, line };
    header.forEach((h, k) => {
      if (!consumed.has(h)) meta[h] = cells[k];
    });
    const title = (get('title') ?? '').trim() || (get('original_title') ?? '').trim();
    drafts.push({ id, ...(title ? { title } : {}), plot, genres, posterPath, companies, meta });
    lines.set(id, line);
  }

  const posters = await checkPosters(candidates, { decode: opts.verifyPosters, progress: opts.progress });
  issues.push(...posters.issues);

  const records: MovieRecord[] = [];
  for (const r of drafts) {
    const posterPath = r.posterPath ? (posters.paths.get(r.id) ?? null) : null;
    if (r.plot === null && posterPath === null) {
      issues.push({
        kind: 'no-usable-input',
        severity: 'error',
        id: r.id,
        file: csvPath,
        line: lines.get(r.id),
        message: `movie ${r.id} has neither a usable overview nor a usable poster; dropped`,
      });
      continue;
    }
    records.push({ ...r, posterPath });
  }
  const splits = stratifiedSplit(records, { seed: opts.seed });
  const splitOf = new Map<string, 'train' | 'dev' | 'test'>();
  for (const s of ['train', 'dev', 'test'] as const) for (const id of splits[s]) splitOf.set(id, s);
  for (const r of records) r.split = splitOf.get(r.id);

  return {
    name: 'tmdb',
    root,
    format: 'tmdb',
    labels: [...TMDB_GENRES],
    records,
    splits,
    issues,
    scanned: rows.length - 1,
  };
}

interface CsvRow {
  cells: string[];
  /** 1-based line where the row starts. */
  line: number;
}

/**
 * Parse the whole CSV; a row the parser cannot read becomes a 'malformed-row' issue and parsing
 * goes on. relax_quotes keeps a stray quote in a field from swallowing every row after it.
 */
function parseCsv(text: string, csvPath: string, issues: RecordIssue[]): CsvRow[] {
  const parsed = parse(text, {
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    on_skip: (err) => {
      issues.push({
        kind: 'malformed-row',
        severity: 'error',
        file: csvPath,
        ...(typeof err?.lines === 'number' ? { line: err.lines } : {}),
        message: `CSV row cannot be parsed: ${err?.message ?? 'unknown error'}; dropped`,
      });
      return undefined;
    },
  }) as unknown as Array<{ record: string[]; info: { lines: number; empty_lines: number } }>;
  const rows: CsvRow[] = [];
  let prevEnd = 0;
  let prevEmpty = 0;
  for (const { record, info } of parsed) {
    // csv-parse reports the line a record ends on; it starts after the previous one (and blank lines).
    rows.push({ cells: record, line: prevEnd + 1 + (info.empty_lines - prevEmpty) });
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
  }
  return rows;
}

function readGenres(
  raw: string,
  where: { id: string; file: string; line: number },
  issues: RecordIssue[],
): string[] | null {
  let names: string[];
  try {
    names = raw.trim() === '' ? [] : parseNamedList(raw);
  } catch (err) {
    issues.push({
      kind: 'malformed-field',
      severity: 'error',
      ...where,
      message: `genres is not a Python list of dicts (${(err as Error).message}): '${raw.slice(0, 60)}'; dropped`,
    });
    return null;
  }
  const genres = [...new Set(names.filter((g) => KNOWN.has(g)))];
  const unknown = names.filter((g) => !KNOWN.has(g));
  if (unknown.length && genres.length) {
    issues.push({
      kind: 'unknown-genre',
      severity: 'warning',
      ...where,
      message: `genre(s) ${unknown.join(', ')} are not TMDB genres; left out`,
    });
  }
  if (genres.length === 0) {
    issues.push({
      kind: 'no-known-genre',
      severity: 'error',
      ...where,
      message: names.length
        ? `no TMDB genre among [${names.join(', ')}]; dropped`
        : 'genres list is empty; dropped',
    });
    return null;
  }
  return genres;
}

function expectedKind(file: string): ImageKind | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.png') return 'png';
  if (ext === '.gif') return 'gif';
  if (ext === '.webp') return 'webp';
  return undefined;
}
