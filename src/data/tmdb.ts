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
 *   a PNG/GIF poster under a .jpg name, text that is not UTF-8 (kept, with U+FFFD where the bytes were).
 *
 * An unterminated quote makes a CSV parser read on into the next row(s) until some later quote
 * closes it. Such a row is dropped with an error naming it, and the rows it ran into are read
 * again on their own (tmdb-csv.ts), so one broken row never silently costs a good one.
 *
 * TMDB has no official split: a seeded stratified split (split.ts, the MM-IMDB procedure) is made.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ImageKind } from './image-sniff.js';
import { DatasetFormatError, type LoadOptions } from './load.js';
import { checkPosters, type PosterCandidate } from './posters.js';
import { parseNamedList } from './python-literal.js';
import { stratifiedSplit } from './split.js';
import { movieIdOf, nonUtf8Lines, readCsvRows, type CsvRow } from './tmdb-csv.js';
import type { Dataset, MovieRecord, RecordIssue } from './types.js';

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
  let bytes: Buffer;
  try {
    bytes = await readFile(csvPath);
  } catch (err) {
    throw new DatasetFormatError(`cannot read ${csvPath}: ${(err as Error).message}`);
  }
  // Bytes that are not UTF-8 decode to U+FFFD: the records on those lines get a warning each.
  const badLines = nonUtf8Lines(bytes);
  const text = bytes.toString('utf8');

  const issues: RecordIssue[] = [];
  const { rows, dropped } = readCsvRows(text, csvPath, issues, isRowStart);
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

  for (const row of rows.slice(1)) {
    const { cells, line } = row;
    const at = { file: csvPath, line };
    if (cells.length !== header.length) {
      const named = movieIdOf(cells, header);
      issues.push({
        kind: 'malformed-row',
        severity: 'error',
        ...(named ? { id: named } : {}),
        ...at,
        message: `${named ? `movie ${named}: ` : ''}row has ${cells.length} fields, the header ${header.length}; dropped`,
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
    if (badLines.size) warnEncoding(row, header, badLines, where, issues);

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
    scanned: rows.length - 1 + dropped,
  };
}

/**
 * Does a parsed record start like a row of a TMDB file (a numeric id in the id column, and
 * TMDB's True/False `adult` flag when there is one)? Used to recognise a row that an
 * unterminated quote ran into. The column count is not required: the row run into may be
 * broken itself, and is then reported on its own.
 */
function isRowStart(cells: string[], header: string[]): boolean {
  const id = cells[header.indexOf('id')]?.trim() ?? '';
  const adult = header.indexOf('adult');
  return /^\d+$/.test(id) && (adult < 0 || /^(True|False)$/.test(cells[adult]?.trim() ?? ''));
}

/** A warning per field of this record that held bytes that are not UTF-8. */
function warnEncoding(
  row: CsvRow,
  header: string[],
  badLines: Set<number>,
  where: { id: string; file: string; line: number },
  issues: RecordIssue[],
): void {
  let bad = false;
  for (let l = row.line; l <= row.endLine && !bad; l++) bad = badLines.has(l);
  if (!bad) return;
  const fields = header.filter((_, k) => row.cells[k]?.includes('\uFFFD'));
  const shown = fields.length ? fields : ['a field'];
  const sample = row.cells[header.indexOf(fields.includes('overview') ? 'overview' : fields[0])] ?? '';
  const at = sample.indexOf('\uFFFD');
  issues.push({
    kind: 'invalid-encoding',
    severity: 'warning',
    ...where,
    message:
      `${shown.join(', ')} of movie ${where.id} ${shown.length > 1 ? 'hold' : 'holds'} bytes that are not UTF-8 ` +
      `(kept as U+FFFD${at >= 0 ? `: '…${sample.slice(Math.max(0, at - 20), at + 20)}…'` : ''}); ` +
      'save the CSV as UTF-8 (e.g. iconv -f windows-1252 -t utf-8) to keep those characters',
  });
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
