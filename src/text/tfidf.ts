/**
 * TF-IDF with scikit-learn's TfidfVectorizer semantics (hand-written: no maintained npm
 * package reproduces sklearn's analyzers, smoothing and feature selection, and the paper's
 * n-gram rows were computed with it):
 * - lower-case; analyzer 'word' = token pattern `(?u)\b\w\w+\b` (runs of ≥ 2 letters, digits
 *   or "_"), word n-grams joined by a space; 'char' = n-grams over the whole text after
 *   collapsing whitespace runs; 'char_wb' = n-grams inside each whitespace-separated word padded
 *   with one space each side (sklearn's `char_wb`, the usual choice for char 3-grams).
 * - df filter (minDf/maxDf), then maxFeatures keeps the terms with the highest total count
 *   (ties: alphabetical order, where sklearn's unstable argsort is arbitrary), then the
 *   vocabulary is sorted alphabetically (column order).
 * - idf = ln((1 + n) / (1 + df)) + 1 (smooth_idf), tf = raw count or 1 + ln(count)
 *   (sublinearTf), each row L2-normalised.
 * Characters are counted as code points, as Python does.
 */

export type TfidfAnalyzer = 'word' | 'char' | 'char_wb';

export interface TfidfOptions {
  analyzer: TfidfAnalyzer;
  ngramRange: [number, number];
  maxFeatures?: number;
  /** Documents a term must appear in: an integer ≥ 1 is a count, a value in (0, 1) a proportion. Default 1. */
  minDf?: number;
  /** Most documents a term may appear in: integer ≥ 1 a count, (0, 1) a proportion. Default: no limit. */
  maxDf?: number;
  sublinearTf?: boolean;
  /** Default true (sklearn's default). */
  lowercase?: boolean;
}

/** Compressed sparse rows: row i's columns are indices[indptr[i] … indptr[i+1]), ascending. */
export interface SparseMatrix {
  nRows: number;
  nCols: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

export interface TfidfState {
  options: TfidfOptions;
  vocabulary: string[];
  idf: number[];
}

const WORD_TOKEN = /[\p{L}\p{N}_]{2,}/gu;

/** The terms (n-grams) of one document, with repetitions, in sklearn's order. */
export function analyze(text: string, opts: TfidfOptions): string[] {
  const doc = opts.lowercase === false ? text : text.toLowerCase();
  const [minN, maxN] = opts.ngramRange;
  const out: string[] = [];
  if (opts.analyzer === 'word') {
    const tokens = doc.match(WORD_TOKEN) ?? [];
    for (let n = minN; n <= Math.min(maxN, tokens.length); n++) {
      for (let i = 0; i + n <= tokens.length; i++)
        out.push(n === 1 ? tokens[i] : tokens.slice(i, i + n).join(' '));
    }
    return out;
  }
  const collapsed = doc.replace(/\s\s+/gu, ' ');
  if (opts.analyzer === 'char') {
    const chars = Array.from(collapsed);
    for (let n = minN; n <= Math.min(maxN, chars.length); n++) {
      for (let i = 0; i + n <= chars.length; i++) out.push(chars.slice(i, i + n).join(''));
    }
    return out;
  }
  for (const word of collapsed.split(/\s+/u)) {
    if (!word) continue;
    const w = Array.from(` ${word} `);
    for (let n = minN; n <= maxN; n++) {
      let offset = 0;
      out.push(w.slice(offset, offset + n).join(''));
      while (offset + n < w.length) {
        offset++;
        out.push(w.slice(offset, offset + n).join(''));
      }
      if (offset === 0) break; // a word shorter than n counts once, as in sklearn
    }
  }
  return out;
}

function countTerms(terms: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of terms) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

function docLimit(value: number | undefined, nDocs: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0)) throw new Error(`minDf/maxDf must be > 0, got ${value}`);
  return value < 1 ? value * nDocs : value;
}

export class TfidfVectorizer {
  readonly options: TfidfOptions;
  vocabulary: string[] = [];
  idf: Float64Array = new Float64Array(0);
  private columns = new Map<string, number>();

  constructor(options: TfidfOptions) {
    const [a, b] = options.ngramRange;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < a) {
      throw new Error(`ngramRange must be [min, max] with 1 ≤ min ≤ max, got [${a}, ${b}]`);
    }
    this.options = { ...options };
  }

  fit(texts: string[]): this {
    const n = texts.length;
    const df = new Map<string, number>();
    const total = new Map<string, number>();
    for (const t of texts) {
      for (const [term, c] of countTerms(analyze(t, this.options))) {
        df.set(term, (df.get(term) ?? 0) + 1);
        total.set(term, (total.get(term) ?? 0) + c);
      }
    }
    const minDocs = docLimit(this.options.minDf, n, 1);
    const maxDocs = docLimit(this.options.maxDf, n, Infinity);
    let terms = [...df.keys()].filter((t) => df.get(t)! >= minDocs && df.get(t)! <= maxDocs);
    if (terms.length === 0) throw new Error('TF-IDF: no terms remain; lower minDf or raise maxDf');
    if (this.options.maxFeatures !== undefined && terms.length > this.options.maxFeatures) {
      terms = terms
        .sort((x, y) => total.get(y)! - total.get(x)! || (x < y ? -1 : 1))
        .slice(0, this.options.maxFeatures);
    }
    terms.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    const idf = terms.map((t) => Math.log((1 + n) / (1 + df.get(t)!)) + 1);
    this.setState(terms, idf);
    return this;
  }

  private setState(vocabulary: string[], idf: ArrayLike<number>): void {
    this.vocabulary = vocabulary;
    this.idf = Float64Array.from(idf);
    this.columns = new Map(vocabulary.map((t, i) => [t, i]));
  }

  /** One document's (column, value) pairs, ascending columns, L2-normalised. */
  transformOne(text: string): { indices: Int32Array; values: Float32Array } {
    if (this.vocabulary.length === 0) throw new Error('TF-IDF: call fit() before transform()');
    const counts = new Map<number, number>();
    for (const term of analyze(text, this.options)) {
      const col = this.columns.get(term);
      if (col !== undefined) counts.set(col, (counts.get(col) ?? 0) + 1);
    }
    const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
    const raw = new Float64Array(indices.length);
    let norm = 0;
    indices.forEach((col, k) => {
      const c = counts.get(col)!;
      const tf = this.options.sublinearTf ? 1 + Math.log(c) : c;
      raw[k] = tf * this.idf[col];
      norm += raw[k] * raw[k];
    });
    norm = Math.sqrt(norm);
    const values = new Float32Array(indices.length);
    for (let k = 0; k < raw.length; k++) values[k] = norm > 0 ? raw[k] / norm : 0;
    return { indices, values };
  }

  transform(texts: string[]): SparseMatrix {
    const rows = texts.map((t) => this.transformOne(t));
    const indptr = new Int32Array(texts.length + 1);
    rows.forEach((r, i) => (indptr[i + 1] = indptr[i] + r.indices.length));
    const indices = new Int32Array(indptr[texts.length]);
    const data = new Float32Array(indptr[texts.length]);
    rows.forEach((r, i) => {
      indices.set(r.indices, indptr[i]);
      data.set(r.values, indptr[i]);
    });
    return { nRows: texts.length, nCols: this.vocabulary.length, indptr, indices, data };
  }

  fitTransform(texts: string[]): SparseMatrix {
    return this.fit(texts).transform(texts);
  }

  /** Everything needed to rebuild the fitted vectorizer (JSON-safe). */
  toJSON(): TfidfState {
    return { options: this.options, vocabulary: this.vocabulary, idf: Array.from(this.idf) };
  }

  static fromJSON(state: TfidfState): TfidfVectorizer {
    if (state.vocabulary.length !== state.idf.length)
      throw new Error('TF-IDF state: vocabulary and idf differ in length');
    const v = new TfidfVectorizer(state.options);
    v.setState(state.vocabulary, state.idf);
    return v;
  }
}

/** Row-major dense copy (for small matrices and tests). */
export function sparseToDense(m: SparseMatrix): Float32Array {
  const out = new Float32Array(m.nRows * m.nCols);
  for (let i = 0; i < m.nRows; i++) {
    for (let k = m.indptr[i]; k < m.indptr[i + 1]; k++) out[i * m.nCols + m.indices[k]] = m.data[k];
  }
  return out;
}
