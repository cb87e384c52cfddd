/**
 * Text encoders for the feature cache. Each is built from its registry name plus JSON options
 * alone (the cache may build it inside a worker thread); anything fitted on the training split
 * (company list, TF-IDF vocabulary, sequence vocabulary) travels inside those options and is
 * hashed into the encoder's key.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { MovieRecord } from '../data/types.js';
import type { Encoder, Modality, SequenceFeatures } from '../data/feature-types.js';
import { MmgenreError } from '../util/errors.js';
import { companiesMultiHot } from './companies.js';
import { GLOVE_PACKAGE, gloveSource, loadGlove, type WordVectors } from './glove.js';
import { meanVector } from './mean.js';
import { TfidfVectorizer, type TfidfState } from './tfidf.js';
import { stripAuthor, tokenize } from './tokenize.js';
import { buildVocabulary, tokensToIds, UNK_ID, vocabularyFromWords, type Vocabulary } from './vocabulary.js';

/** Bump when an encoder's output changes for the same options (invalidates cached features). */
const TEXT_ENCODER_VERSION = 1;

const hash = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

function parseOptions<T extends z.ZodType>(name: string, schema: T, options: unknown): z.infer<T> {
  const r = schema.safeParse(options ?? {});
  if (!r.success)
    throw new MmgenreError('config', `encoder ${name}: bad options: ${z.prettifyError(r.error)}`);
  return r.data;
}

type TextField = 'plot' | 'title';
const fieldText = (r: MovieRecord, field: TextField): string | null | undefined =>
  field === 'plot' ? r.plot : r.title;

const gloveMeanSchema = z
  .object({
    /** Only the N most frequent GloVe words (default all). */
    topN: z.number().int().positive().optional(),
    stopWords: z.boolean().default(true),
    punctuation: z.boolean().default(false),
    /** Where the GloVe binary cache lives (default env.cacheDir); not part of the key. */
    cacheDir: z.string().optional(),
  })
  .strict();

function gloveMeanEncoder(name: string, field: TextField, modality: Modality, options: unknown): Encoder {
  const o = parseOptions(name, gloveMeanSchema, options);
  const src = `${GLOVE_PACKAGE}@${gloveSource().version}`;
  let vectors: WordVectors | null = null;
  return {
    name,
    modality,
    key: `${name}/v${TEXT_ENCODER_VERSION}/${src}/top=${o.topN ?? 'all'}/stop=${o.stopWords}/punct=${o.punctuation}`,
    dim: 100,
    rowShape: [100],
    async init() {
      vectors ??= await loadGlove({ topN: o.topN, cacheDir: o.cacheDir });
    },
    async encode(records) {
      if (!vectors) await this.init();
      return records.map((r) => {
        const text = fieldText(r, field);
        if (!text || !text.trim()) return { error: `no ${field}` };
        const tokens = tokenize(text, { stopWords: o.stopWords, punctuation: o.punctuation });
        if (tokens.length === 0) return { error: `${field} has no word tokens` };
        return meanVector(tokens, vectors!) ?? { error: `no word of the ${field} has a GloVe vector` };
      });
    },
    dispose() {
      vectors = null;
    },
  };
}

const companiesSchema = z
  .object({
    /** Companies fitted on the training split (fitCompanyVocabulary). */
    vocabulary: z.array(z.string()).min(1),
    /** Add an "any other company" column (default true). */
    other: z.boolean().default(true),
  })
  .strict();

function companiesEncoder(options: unknown): Encoder {
  const name = 'companies-multihot';
  const o = parseOptions(name, companiesSchema, options);
  const index = new Map(o.vocabulary.map((c, i) => [c, i]));
  if (index.size !== o.vocabulary.length) throw new Error(`encoder ${name}: vocabulary has duplicates`);
  const dim = o.vocabulary.length + (o.other ? 1 : 0);
  return {
    name,
    modality: 'companies',
    key: `${name}/v${TEXT_ENCODER_VERSION}/n=${o.vocabulary.length}/${hash(o.vocabulary)}/other=${o.other}`,
    dim,
    rowShape: [dim],
    async init() {},
    async encode(records) {
      return records.map(
        (r) => companiesMultiHot(r.companies, index, o.other) ?? { error: 'no production companies' },
      );
    },
    dispose() {},
  };
}

const tfidfSchema = z
  .object({
    /** A fitted TfidfVectorizer's toJSON() (fit it on the training split). */
    state: z.object({
      options: z.object({
        analyzer: z.enum(['word', 'char', 'char_wb']),
        ngramRange: z.tuple([z.number().int(), z.number().int()]),
        maxFeatures: z.number().int().positive().optional(),
        minDf: z.number().positive().optional(),
        maxDf: z.number().positive().optional(),
        sublinearTf: z.boolean().optional(),
        lowercase: z.boolean().optional(),
      }),
      vocabulary: z.array(z.string()).min(1),
      idf: z.array(z.number()),
    }),
    field: z.enum(['plot', 'title']).default('plot'),
  })
  .strict();

/** Options for the 'tfidf' encoder, fitted on `trainTexts` (`::author` signatures stripped). */
export function fitTfidfEncoderOptions(
  trainTexts: (string | null | undefined)[],
  options: Partial<TfidfState['options']>,
  field: TextField = 'plot',
): { state: TfidfState; field: TextField } {
  const texts = trainTexts.filter((t): t is string => !!t && !!t.trim()).map(stripAuthor);
  // scikit-learn's defaults: single words.
  const vectorizer = new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1], ...options });
  return { state: vectorizer.fit(texts).toJSON(), field };
}

function tfidfEncoder(options: unknown): Encoder {
  const name = 'tfidf';
  const o = parseOptions(name, tfidfSchema, options);
  const vectorizer = TfidfVectorizer.fromJSON(o.state as TfidfState);
  const dim = o.state.vocabulary.length;
  const modality: Modality = o.field;
  return {
    name,
    modality,
    key: `${name}/v${TEXT_ENCODER_VERSION}/${o.field}/n=${dim}/${hash(o.state)}`,
    dim,
    rowShape: [dim],
    async init() {},
    async encode(records) {
      return records.map((r) => {
        const text = fieldText(r, o.field);
        if (!text || !text.trim()) return { error: `no ${o.field}` };
        const row = vectorizer.transformOne(stripAuthor(text));
        if (row.indices.length === 0)
          return { error: `no term of the ${o.field} is in the TF-IDF vocabulary` };
        const v = new Float32Array(dim);
        row.indices.forEach((col, k) => (v[col] = row.values[k]));
        return v;
      });
    },
    dispose() {},
  };
}

/** Encoder registry: name → factory from JSON options. */
export const textEncoders: Record<string, (options?: Record<string, unknown>) => Encoder> = {
  'glove-mean': (o) => gloveMeanEncoder('glove-mean', 'plot', 'plot', o),
  'title-glove-mean': (o) => gloveMeanEncoder('title-glove-mean', 'title', 'title', o),
  'companies-multihot': (o) => companiesEncoder(o),
  tfidf: (o) => tfidfEncoder(o),
};

export const sequenceOptionsSchema = z
  .object({
    maxLen: z.number().int().positive(),
    truncate: z.enum(['pre', 'post']).default('post'),
    /** A fitted word list (fitVocabulary(...).words); default: the `maxWords` most frequent GloVe words. */
    vocabulary: z.array(z.string()).optional(),
    maxWords: z.number().int().positive().default(50_000),
    field: z.enum(['plot', 'title']).default('plot'),
    punctuation: z.boolean().default(false),
    cacheDir: z.string().optional(),
  })
  .strict();
export type SequenceFeatureOptions = z.input<typeof sequenceOptionsSchema>;

/** Cache key of the sequences `computeSequenceFeatures` gives for these options. */
export function sequenceFeaturesKey(options: SequenceFeatureOptions): string {
  const o = parseOptions('sequences', sequenceOptionsSchema, options);
  const vocab = o.vocabulary ? `words=${o.vocabulary.length}/${hash(o.vocabulary)}` : `top=${o.maxWords}`;
  const src = `${GLOVE_PACKAGE}@${gloveSource().version}`;
  return `sequences/v${TEXT_ENCODER_VERSION}/${src}/${o.field}/${vocab}/len=${o.maxLen}/${o.truncate}/punct=${o.punctuation}`;
}

/**
 * Vocabularies built so far, per loaded GloVe table (loadGlove memoises the table, so its
 * identity is stable) and per word list: rebuilding one maps every word to its GloVe row, 15–25
 * ms for 20k words, and the trainer, the feature cache and predict each ask for it many times.
 * Keyed on the words' content (a hash), not the array's identity: options are often re-parsed
 * from JSON. A few entries per table: a process rarely uses more than two vocabularies.
 */
const vocabularyMemo = new WeakMap<WordVectors, Map<string, Vocabulary>>();
const VOCABULARY_MEMO_SIZE = 8;
/** Content hash of a word list, by the caller's array (a spec passes the same one every call; word lists are never edited in place). */
const wordListHash = new WeakMap<string[], string>();

function hashWords(words: string[]): string {
  let h = wordListHash.get(words);
  if (!h) wordListHash.set(words, (h = hash(words)));
  return h;
}

function memoisedVocabulary(vectors: WordVectors, key: string, build: () => Vocabulary): Vocabulary {
  let byKey = vocabularyMemo.get(vectors);
  if (!byKey) vocabularyMemo.set(vectors, (byKey = new Map()));
  let vocab = byKey.get(key);
  if (vocab) return vocab;
  vocab = build();
  if (byKey.size >= VOCABULARY_MEMO_SIZE) byKey.delete(byKey.keys().next().value as string);
  byKey.set(key, vocab);
  return vocab;
}

/**
 * The vocabulary the sequences of `options` use (build the Embedding init from it with
 * embeddingMatrix). Memoised: equal options give the same (shared, read-only) Vocabulary object.
 */
export async function sequenceVocabulary(
  options: SequenceFeatureOptions,
): Promise<{ vocab: Vocabulary; vectors: WordVectors }> {
  const o = parseOptions('sequences', sequenceOptionsSchema, options);
  const vectors = await loadGlove({ cacheDir: o.cacheDir });
  const words = o.vocabulary;
  // Hashed by the caller's array (zod's parse copies it) so a repeated call skips the hashing too.
  const raw = options.vocabulary ?? [];
  const vocab = words
    ? memoisedVocabulary(vectors, `words=${words.length}/${hashWords(raw)}`, () =>
        vocabularyFromWords(words, vectors),
      )
    : memoisedVocabulary(vectors, `top=${o.maxWords}`, () =>
        buildVocabulary(vectors, { maxWords: o.maxWords }),
      );
  return { vocab, vectors };
}

/**
 * Token-id sequences (not padded) for the recurrent models. A record whose text is absent, or
 * whose tokens are all unknown, is marked missing with an empty sequence.
 */
export async function computeSequenceFeatures(
  records: MovieRecord[],
  options: SequenceFeatureOptions,
): Promise<SequenceFeatures & { key: string; errors: (string | null)[] }> {
  const o = parseOptions('sequences', sequenceOptionsSchema, options);
  const { vocab } = await sequenceVocabulary(o);
  const missing = new Uint8Array(records.length);
  const errors: (string | null)[] = [];
  const sequences = records.map((r, i) => {
    const text = fieldText(r, o.field);
    const ids = tokensToIds(tokenize(text, { punctuation: o.punctuation }), vocab, o);
    const error = !text?.trim()
      ? `no ${o.field}`
      : ids.length === 0
        ? `${o.field} has no word tokens`
        : ids.every((id) => id === UNK_ID)
          ? `no known word in the ${o.field}`
          : null;
    errors.push(error);
    if (error) {
      missing[i] = 1;
      return new Int32Array(0);
    }
    return ids;
  });
  return {
    ids: records.map((r) => r.id),
    sequences,
    missing,
    vocabSize: vocab.size,
    key: sequenceFeaturesKey(o),
    errors,
  };
}
