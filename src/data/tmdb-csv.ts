/**
 * Reading The Movies Dataset's CSV row by row, so that one broken row costs only itself.
 *
 * csv-parse (relax_quotes) reads a quote that is opened and never closed on as part of the
 * field, over line breaks, until some later quote ends it: the rows in between become part of
 * the broken one and would be lost with it. No parser option can tell that apart from a plot
 * with a real line break, but the file can: a line inside a quoted field at which a row starts
 * (the caller's `isRowStart`: a numeric id in its column, ...) is a row that was swallowed. The broken row is then dropped with an error naming it, and the
 * file is parsed again from the swallowed row's line.
 */
import { isUtf8 } from 'node:buffer';
import { parse } from 'csv-parse/sync';
import type { RecordIssue } from './types.js';

export interface CsvRow {
  cells: string[];
  /** 1-based line where the row starts. */
  line: number;
  /** 1-based line where it ends (after its quoted line breaks). */
  endLine: number;
}

/** Does this parsed record start like a row of the file whose header is `header`? */
export type RowStartTest = (cells: string[], header: string[]) => boolean;

/** Longest row looked at when testing whether a line starts a row (TMDB rows are a few KiB). */
const ROW_WINDOW = 64 * 1024;
const PARSE_OPTIONS = { bom: true, relax_column_count: true, relax_quotes: true } as const;

/**
 * Every row of the CSV text (the header first); unreadable rows and rows with an unterminated
 * quote become 'malformed-row' errors in `issues`. `dropped`: rows left out that way.
 */
export function readCsvRows(
  text: string,
  csvPath: string,
  issues: RecordIssue[],
  isRowStart: RowStartTest,
): { rows: CsvRow[]; dropped: number } {
  const lineStarts = lineOffsets(text);
  const rows: CsvRow[] = [];
  let header: string[] | null = null;
  let dropped = 0;
  let from = 1;
  for (;;) {
    const passIssues: RecordIssue[] = [];
    const pass = parseFrom(text.slice(lineStarts[from - 1]), from, csvPath, passIssues);
    if (header === null) {
      if (pass.length === 0) return { rows, dropped };
      header = pass[0].cells.map((h) => h.trim());
    }
    const hdr = header;
    let swallowed: number | null = null;
    const k = pass.findIndex((row, i) => {
      if (from === 1 && i === 0) return false; // the header
      if (row.endLine === row.line) return false; // no quoted line break: nothing swallowed
      swallowed = swallowedLine(text, lineStarts, row, hdr, isRowStart);
      return swallowed !== null;
    });
    if (k < 0 || swallowed === null) {
      rows.push(...pass);
      issues.push(...passIssues);
      dropped += passIssues.length;
      return { rows, dropped };
    }
    const broken = pass[k];
    rows.push(...pass.slice(0, k));
    const before = passIssues.filter((i) => (i.line ?? 0) < broken.line);
    issues.push(...before, unterminatedQuote(broken, swallowed, hdr, csvPath));
    dropped += before.length + 1;
    from = swallowed;
  }
}

/** The line of the first row that starts inside `row`'s quoted line breaks, or null. */
function swallowedLine(
  text: string,
  lineStarts: number[],
  row: CsvRow,
  header: string[],
  isRowStart: RowStartTest,
): number | null {
  for (let line = row.line + 1; line <= row.endLine; line++) {
    const start = lineStarts[line - 1];
    let first: string[] | undefined;
    try {
      [first] = parse(text.slice(start, start + ROW_WINDOW), { ...PARSE_OPTIONS, to: 1 }) as string[][];
    } catch {
      continue; // not a readable row from here (e.g. a quote that the window cuts)
    }
    if (first && isRowStart(first, header)) return line;
  }
  return null;
}

function unterminatedQuote(broken: CsvRow, swallowed: number, header: string[], file: string): RecordIssue {
  // Fields before the open quote are still in place: name the movie when its id is.
  const id = movieIdOf(broken.cells, header);
  const lines = swallowed - 1 > broken.line ? `lines ${broken.line}-${swallowed - 1} are` : 'this row is';
  return {
    kind: 'malformed-row',
    severity: 'error',
    ...(id ? { id } : {}),
    file,
    line: broken.line,
    message:
      `${id ? `movie ${id}: ` : ''}a quote opened on line ${broken.line} is not closed before the row on ` +
      `line ${swallowed} starts; ${lines} dropped and the rows from line ${swallowed} on are read on their ` +
      'own (close the quote, or double a quote inside a field as "")',
  };
}

/**
 * The record id (imdb_id, else tmdb-<id>) of a row whose fields may be shifted, when its id
 * column holds a TMDB id; undefined when it cannot be told.
 */
export function movieIdOf(cells: string[], header: string[]): string | undefined {
  const tmdbId = cells[header.indexOf('id')]?.trim() ?? '';
  if (!/^\d+$/.test(tmdbId)) return undefined;
  const imdbId = cells[header.indexOf('imdb_id')]?.trim() ?? '';
  return /^tt\d+$/.test(imdbId) ? imdbId : `tmdb-${tmdbId}`;
}

/** Parse CSV text whose first line is line `firstLine` of the file; bad rows become issues. */
function parseFrom(text: string, firstLine: number, file: string, issues: RecordIssue[]): CsvRow[] {
  const offset = firstLine - 1;
  const parsed = parse(text, {
    ...PARSE_OPTIONS,
    bom: firstLine === 1,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    on_skip: (err) => {
      issues.push({
        kind: 'malformed-row',
        severity: 'error',
        file,
        ...(typeof err?.lines === 'number' ? { line: err.lines + offset } : {}),
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
    const line = prevEnd + 1 + (info.empty_lines - prevEmpty);
    rows.push({ cells: record, line: line + offset, endLine: info.lines + offset });
    prevEnd = info.lines;
    prevEmpty = info.empty_lines;
  }
  return rows;
}

/** Offset of the start of every line (index 0: line 1). */
function lineOffsets(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/**
 * 1-based numbers of the lines holding bytes that are not UTF-8 (empty when the file is).
 * Checked per line on the raw bytes: a newline byte never occurs inside a UTF-8 sequence.
 */
export function nonUtf8Lines(bytes: Uint8Array): Set<number> {
  const bad = new Set<number>();
  if (isUtf8(bytes)) return bad;
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    if (!isUtf8(bytes.subarray(start, end))) bad.add(line);
    start = end + 1;
  }
  return bad;
}
