/**
 * Input preparation: some encoders need options fitted on the training split before features
 * can be extracted (a TF-IDF vocabulary, the word list of the token sequences). Such an encoder
 * has a preparer, registered here beside the built-in ones; the pipeline calls it with the
 * config's options and the dataset, and extracts (and records in the run's spec) the options it
 * returns.
 */
import type { Dataset } from '../data/types.js';
import { fitTfidfEncoderOptions } from '../text/encoders.js';
import { loadGlove } from '../text/glove.js';
import type { TfidfOptions } from '../text/tfidf.js';
import { tokenize } from '../text/tokenize.js';
import { fitVocabulary } from '../text/vocabulary.js';

export type InputPreparer = (
  options: Record<string, unknown>,
  dataset: Dataset,
) => Promise<Record<string, unknown>>;

const preparers = new Map<string, InputPreparer>();

export function registerInputPreparer(encoder: string, prepare: InputPreparer): void {
  preparers.set(encoder, prepare);
}

/** The encoder options to extract with: fitted on the training split when the encoder needs it. */
export async function prepareInputOptions(
  encoder: string,
  options: Record<string, unknown> | undefined,
  dataset: Dataset,
): Promise<Record<string, unknown>> {
  const prepare = preparers.get(encoder);
  return prepare ? prepare(options ?? {}, dataset) : (options ?? {});
}

/** The training split's records (what preparers fit on). */
export function trainRecords(dataset: Dataset): Dataset['records'] {
  const ids = new Set(dataset.splits.train);
  return dataset.records.filter((r) => ids.has(r.id));
}

/**
 * 'tfidf' options as a config writes them (the TfidfVectorizer options plus `field`) → the
 * encoder's options with the vectorizer fitted on the training split's texts. Options that
 * already hold a fitted `state` pass through.
 */
export async function fitTfidfOptions(
  options: Record<string, unknown>,
  dataset: Dataset,
): Promise<Record<string, unknown>> {
  if (options.state) return options;
  const { field = 'plot', ...vectorizer } = options as unknown as { field?: 'plot' | 'title' } & TfidfOptions;
  const texts = trainRecords(dataset).map((r) => (field === 'plot' ? r.plot : r.title));
  return fitTfidfEncoderOptions(texts, vectorizer, field);
}

registerInputPreparer('tfidf', fitTfidfOptions);

/**
 * 'plot-sequences' options as a config writes them, plus `minCount` (default 2) and `maxWords`
 * (default 20,000): unless a `vocabulary` is given, the words of the training plots that occur
 * `minCount` times and have a GloVe vector, most frequent first. A vocabulary of the corpus
 * rather than GloVe's 341k words keeps the Embedding (and its gradient) small.
 */
export async function fitSequenceOptions(
  options: Record<string, unknown>,
  dataset: Dataset,
): Promise<Record<string, unknown>> {
  const { minCount, ...rest } = options as { minCount?: number } & Record<string, unknown>;
  if (rest.vocabulary) return rest;
  const field = (rest.field as 'plot' | 'title' | undefined) ?? 'plot';
  const punctuation = (rest.punctuation as boolean | undefined) ?? false;
  const vectors = await loadGlove({ cacheDir: rest.cacheDir as string | undefined });
  const tokenized = trainRecords(dataset).map((r) =>
    tokenize(field === 'plot' ? r.plot : r.title, { punctuation }),
  );
  const vocab = fitVocabulary(tokenized, vectors, {
    minCount: minCount ?? 2,
    maxWords: (rest.maxWords as number | undefined) ?? 20_000,
  });
  return { maxLen: 200, ...rest, vocabulary: vocab.words };
}

registerInputPreparer('plot-sequences', fitSequenceOptions);
