/** Token-id vocabularies and sequences for the recurrent plot models. */
import { createHash } from 'node:crypto';
import { wordRow, type WordVectors } from './glove.js';

export const PAD_ID = 0;
export const UNK_ID = 1;

/** id 0 = padding, 1 = unknown, then `words` (ids 2…). Every word has a GloVe row. */
export interface Vocabulary {
  /** words[id - 2] is the word of id; ids 0 and 1 have no word. */
  words: string[];
  index: Map<string, number>;
  /** ids + 2 specials. */
  size: number;
  /** GloVe row of each word (same order as `words`). */
  rows: Int32Array;
  /** Stable identity (source vectors + word list), for cache keys. */
  key: string;
}

function makeVocabulary(words: string[], rows: Int32Array, source: string): Vocabulary {
  const index = new Map<string, number>();
  words.forEach((w, i) => index.set(w, i + 2));
  const key = `${source}:${createHash('sha256').update(words.join('\n')).digest('hex').slice(0, 16)}`;
  return { words, index, size: words.length + 2, rows, key };
}

/** The `maxWords` most frequent GloVe words (all by default). */
export function buildVocabulary(vectors: WordVectors, opts: { maxWords?: number } = {}): Vocabulary {
  const n = Math.min(opts.maxWords ?? vectors.words.length, vectors.words.length);
  const rows = new Int32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  return makeVocabulary(vectors.words.slice(0, n), rows, vectors.source);
}

/**
 * A vocabulary fitted on a corpus (the training split): the words that occur at least
 * `minCount` times and have a GloVe vector, most frequent first, at most `maxWords`.
 * Much smaller than the full GloVe list, so a trainable Embedding layer stays cheap.
 * The word list is what travels (JSON) to rebuild it: see `vocabularyFromWords`.
 */
export function fitVocabulary(
  tokenized: string[][],
  vectors: WordVectors,
  opts: { minCount?: number; maxWords?: number } = {},
): Vocabulary {
  const counts = new Map<string, number>();
  for (const tokens of tokenized) for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const minCount = opts.minCount ?? 1;
  const kept = [...counts]
    .filter(([w, c]) => c >= minCount && wordRow(vectors, w) >= 0)
    // Ties broken by the word itself so the same corpus always gives the same ids.
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, opts.maxWords ?? Infinity)
    .map(([w]) => w);
  return vocabularyFromWords(kept, vectors);
}

/** Rebuild a vocabulary from its word list (ids follow the list). Words without a vector are an error. */
export function vocabularyFromWords(words: string[], vectors: WordVectors): Vocabulary {
  const rows = new Int32Array(words.length);
  words.forEach((w, i) => {
    const r = wordRow(vectors, w);
    if (r < 0) throw new Error(`vocabulary word "${w}" has no vector in ${vectors.source}`);
    rows[i] = r;
  });
  return makeVocabulary(words, rows, vectors.source);
}

/**
 * Initial weights for an Embedding layer: size × dim, row id = the word's GloVe vector;
 * padding and unknown rows are zeros.
 */
export function embeddingMatrix(vocab: Vocabulary, vectors: WordVectors): Float32Array {
  const dim = vectors.dim;
  const out = new Float32Array(vocab.size * dim);
  for (let i = 0; i < vocab.words.length; i++) {
    const r = vocab.rows[i];
    out.set(vectors.matrix.subarray(r * dim, (r + 1) * dim), (i + 2) * dim);
  }
  return out;
}

export interface SequenceOptions {
  maxLen: number;
  /** Which end to cut when a text is longer than maxLen (default 'post': keep the beginning). */
  truncate?: 'pre' | 'post';
}

/** Token ids of one tokenised text (unknown words → UNK_ID), cut to maxLen, not padded. */
export function tokensToIds(tokens: string[], vocab: Vocabulary, opts: SequenceOptions): Int32Array {
  if (!Number.isInteger(opts.maxLen) || opts.maxLen < 1)
    throw new Error(`maxLen must be ≥ 1, got ${opts.maxLen}`);
  const from = opts.truncate === 'pre' ? Math.max(0, tokens.length - opts.maxLen) : 0;
  const to = Math.min(tokens.length, from + opts.maxLen);
  const ids = new Int32Array(to - from);
  for (let i = from; i < to; i++) ids[i - from] = vocab.index.get(tokens[i]) ?? UNK_ID;
  return ids;
}

/**
 * Variable-length id sequences (no padding: models pad per batch or bucket by length;
 * `padSequences` pads to a fixed length). A missing text gives an empty sequence.
 */
export function encodeSequences(
  tokenized: string[][],
  vocab: Vocabulary,
  opts: SequenceOptions,
): Int32Array[] {
  return tokenized.map((t) => tokensToIds(t, vocab, opts));
}

/**
 * Pad (with PAD_ID) or cut sequences to `length`, row-major n × length, as Keras'
 * pad_sequences: `padding` 'post' (default) puts zeros after, 'pre' before;
 * `truncate` 'post' (default) keeps the beginning, 'pre' the end.
 */
export function padSequences(
  sequences: Int32Array[],
  length: number,
  opts: { padding?: 'pre' | 'post'; truncate?: 'pre' | 'post' } = {},
): Int32Array {
  const out = new Int32Array(sequences.length * length);
  sequences.forEach((s, i) => {
    const kept =
      s.length <= length
        ? s
        : opts.truncate === 'pre'
          ? s.subarray(s.length - length)
          : s.subarray(0, length);
    const at = opts.padding === 'pre' ? length - kept.length : 0;
    out.set(kept, i * length + at);
  });
  return out;
}
