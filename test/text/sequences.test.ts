import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadGlove } from '../../src/text/glove.js';
import {
  buildVocabulary,
  embeddingMatrix,
  encodeSequences,
  fitVocabulary,
  padSequences,
  PAD_ID,
  UNK_ID,
  vocabularyFromWords,
} from '../../src/text/vocabulary.js';
import { tempDir } from '../helpers/shared.js';
import { TINY_WORDS, writeTinySource } from './helpers.js';

const tiny = () => loadGlove({ cacheDir: tempDir(), source: writeTinySource() });

test('vocabulary ids: 0 padding, 1 unknown, then the GloVe words in frequency order', async () => {
  const vocab = buildVocabulary(await tiny(), { maxWords: 4 });
  assert.equal(vocab.size, 6);
  assert.deepEqual(vocab.words, ['the', 'boy', 'meets', 'wizard']);
  assert.equal(vocab.index.get('the'), 2);
  assert.equal(vocab.index.get('wizard'), 5);
  const [seq] = encodeSequences([['the', 'goblin', 'meets', 'wizard']], vocab, { maxLen: 10 });
  assert.deepEqual([...seq], [2, UNK_ID, 4, 5]);
});

test('truncation keeps the beginning (post) or the end (pre); sequences are not padded', async () => {
  const vocab = buildVocabulary(await tiny());
  const tokens = [['the', 'boy', 'meets', 'wizard'], ['boy'], []];
  assert.deepEqual(
    encodeSequences(tokens, vocab, { maxLen: 2 }).map((s) => [...s]),
    [[2, 3], [3], []],
  );
  assert.deepEqual(
    encodeSequences(tokens, vocab, { maxLen: 2, truncate: 'pre' }).map((s) => [...s]),
    [[4, 5], [3], []],
  );
  assert.throws(() => encodeSequences(tokens, vocab, { maxLen: 0 }), /maxLen/);
});

test('padSequences pads with 0 after or before and cuts like Keras pad_sequences', () => {
  const seqs = [Int32Array.from([5, 6, 7, 8]), Int32Array.from([9])];
  assert.deepEqual([...padSequences(seqs, 3)], [5, 6, 7, 9, PAD_ID, PAD_ID]);
  assert.deepEqual([...padSequences(seqs, 3, { padding: 'pre', truncate: 'pre' })], [6, 7, 8, 0, 0, 9]);
});

test("embeddingMatrix rows are the words' GloVe vectors; padding and unknown rows are zero", async () => {
  const vectors = await tiny();
  const vocab = vocabularyFromWords(['wizard', 'the'], vectors);
  const m = embeddingMatrix(vocab, vectors);
  assert.equal(m.length, 4 * 4);
  assert.deepEqual([...m.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...m.subarray(8, 12)], TINY_WORDS.wizard);
  assert.deepEqual([...m.subarray(12, 16)], TINY_WORDS.the);
  assert.throws(() => vocabularyFromWords(['goblin'], vectors), /no vector/);
});

test('fitVocabulary keeps corpus words with a vector, most frequent first, and is deterministic', async () => {
  const vectors = await tiny();
  const corpus = [
    ['wizard', 'goblin', 'boy'],
    ['wizard', 'boy', 'the'],
    ['wizard', 'goblin'],
  ];
  const v = fitVocabulary(corpus, vectors, { minCount: 2 });
  assert.deepEqual(v.words, ['wizard', 'boy']); // goblin has no vector; the occurs once
  assert.equal(fitVocabulary(corpus, vectors).key, fitVocabulary(corpus, vectors).key);
  assert.notEqual(v.key, fitVocabulary(corpus, vectors).key);
});

test('sequenceVocabulary is memoised on the word list and options, not on the array object', async () => {
  const { sequenceVocabulary } = await import('../../src/text/encoders.js');
  const words = ['the', 'wizard', 'murder'];
  const a = await sequenceVocabulary({ maxLen: 10, vocabulary: words });
  const b = await sequenceVocabulary({ maxLen: 50, vocabulary: [...words] });
  assert.equal(a.vocab, b.vocab, 'same words (a new array) → the same Vocabulary object');
  assert.equal(a.vocab.index.get('wizard'), 3);
  const c = await sequenceVocabulary({ maxLen: 10, vocabulary: ['murder', 'the', 'wizard'] });
  assert.notEqual(c.vocab, a.vocab, 'another order is another vocabulary');
  assert.equal(c.vocab.index.get('wizard'), 4);
  const top = await sequenceVocabulary({ maxLen: 10, maxWords: 100 });
  assert.equal(top.vocab.size, 102);
  assert.equal((await sequenceVocabulary({ maxLen: 10, maxWords: 100 })).vocab, top.vocab);
  assert.equal((await sequenceVocabulary({ maxLen: 10, maxWords: 101 })).vocab.size, 103);
});
