/**
 * The predictions file every predicting command writes: JSON Lines, one movie a line,
 * `{"id": "...", "scores": {"Drama": 0.83, ...}}` with a probability for every genre of the model.
 * Reading never throws on a bad line: each problem is returned with its line number and the
 * good lines are kept.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';

export interface PredictionRow {
  id: string;
  scores: Record<string, number>;
  [extra: string]: unknown;
}

export interface PredictionsError {
  /** 1-based line number in the file. */
  line: number;
  message: string;
}

export interface PredictionsFile {
  rows: PredictionRow[];
  /** The labels every row was checked against: the given ones, or the first good row's genres. */
  labels: string[];
  errors: PredictionsError[];
}

/** Writes rows as JSON Lines, atomically. Throws (writing nothing) if a row is not valid. */
export function writePredictions(path: string, rows: PredictionRow[]): void {
  const lines: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (typeof r.id !== 'string' || r.id === '') throw new Error(`row ${i}: id must be a non-empty string`);
    for (const [label, v] of Object.entries(r.scores)) {
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw new Error(
          `row ${i} (id ${r.id}): score for ${label} must be a probability in [0, 1], got ${v}`,
        );
      }
    }
    lines.push(JSON.stringify(r));
  }
  writeFileAtomic(path, lines.length === 0 ? '' : lines.join('\n') + '\n');
}

/** Rows for `ids` from a probability matrix whose columns are `labels`. */
export function toPredictionRows(
  ids: readonly string[],
  probs: ArrayLike<number>[],
  labels: readonly string[],
): PredictionRow[] {
  if (ids.length !== probs.length) throw new Error(`${ids.length} ids but ${probs.length} rows of scores`);
  return ids.map((id, i) => {
    const scores: Record<string, number> = {};
    labels.forEach((l, j) => (scores[l] = probs[i][j]));
    return { id, scores };
  });
}

export function readPredictions(path: string, labels?: readonly string[]): PredictionsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read predictions file ${path}: ${(err as Error).message}`);
  }
  return parsePredictions(text, labels);
}

/** Parses predictions JSON Lines text (see `readPredictions`). */
export function parsePredictions(text: string, labels?: readonly string[]): PredictionsFile {
  const lines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  if (endsWithNewline) lines.pop();
  const rows: PredictionRow[] = [];
  const errors: PredictionsError[] = [];
  const firstLineOfId = new Map<string, number>();
  let expected: string[] | undefined = labels ? [...labels] : undefined;

  for (let k = 0; k < lines.length; k++) {
    const lineNo = k + 1;
    const line = lines[k].endsWith('\r') ? lines[k].slice(0, -1) : lines[k];
    if (line.trim() === '') continue;
    const fail = (message: string): void => {
      errors.push({ line: lineNo, message: `line ${lineNo}: ${message}` });
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      const isLast = k === lines.length - 1;
      if (isLast && !endsWithNewline) {
        fail(
          `truncated line at the end of the file (no final newline; the writer probably stopped mid-line): ${(err as Error).message}`,
        );
      } else if (/\b(NaN|-?Infinity)\b/.test(line)) {
        fail('contains NaN or Infinity, which is not a probability (and not valid JSON)');
      } else {
        fail(`malformed JSON: ${(err as Error).message}`);
      }
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail('expected a JSON object like {"id": "...", "scores": {...}}');
      continue;
    }
    const obj = value as Record<string, unknown>;
    if (typeof obj.id !== 'string' || obj.id === '') {
      fail(`"id" must be a non-empty string, got ${JSON.stringify(obj.id)}`);
      continue;
    }
    const id = obj.id;
    const where = `(id ${id})`;
    const scores = obj.scores;
    if (typeof scores !== 'object' || scores === null || Array.isArray(scores)) {
      fail(`${where} "scores" must be an object mapping genre to probability`);
      continue;
    }
    const scoreMap = scores as Record<string, unknown>;
    const wanted = expected ?? Object.keys(scoreMap);
    const problems: string[] = [];
    const missing = wanted.filter((l) => !(l in scoreMap));
    if (missing.length > 0) problems.push(`missing scores for genre(s): ${missing.join(', ')}`);
    if (!labels && expected) {
      const extra = Object.keys(scoreMap).filter((l) => !expected!.includes(l));
      if (extra.length > 0) problems.push(`genre(s) not in the first row: ${extra.join(', ')}`);
    }
    for (const l of wanted) {
      if (!(l in scoreMap)) continue;
      const v = scoreMap[l];
      if (typeof v !== 'number') problems.push(`score for ${l} is not a number (${JSON.stringify(v)})`);
      else if (!(v >= 0 && v <= 1)) problems.push(`score for ${l} is ${v}, outside [0, 1]`);
    }
    if (problems.length > 0) {
      fail(`${where} ${problems.join('; ')}`);
      continue;
    }
    const first = firstLineOfId.get(id);
    if (first !== undefined) {
      fail(`duplicate id ${id} (first on line ${first}); this line is ignored`);
      continue;
    }
    firstLineOfId.set(id, lineNo);
    if (!expected) expected = wanted;
    rows.push(obj as PredictionRow);
  }
  return { rows, labels: expected ?? [], errors };
}
