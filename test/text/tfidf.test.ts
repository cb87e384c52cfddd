import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, sparseToDense, TfidfVectorizer } from '../../src/text/tfidf.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

// scikit-learn's documentation corpus for TfidfVectorizer.
const CORPUS = [
  'This is the first document.',
  'This document is the second document.',
  'And this is the third one.',
  'Is this the first document?',
];

test('word TF-IDF equals scikit-learn on its documentation corpus', () => {
  const v = new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1] });
  const x = v.fitTransform(CORPUS);
  assert.deepEqual(v.vocabulary, ['and', 'document', 'first', 'is', 'one', 'second', 'the', 'third', 'this']);
  // Published output of TfidfVectorizer().fit_transform(corpus).toarray() (sklearn docs).
  const expected = [
    [0, 0.46979139, 0.58028582, 0.38408524, 0, 0, 0.38408524, 0, 0.38408524],
    [0, 0.6876236, 0, 0.28108867, 0, 0.53864762, 0.28108867, 0, 0.28108867],
    [0.51184851, 0, 0, 0.26710379, 0.51184851, 0, 0.26710379, 0.51184851, 0.26710379],
    [0, 0.46979139, 0.58028582, 0.38408524, 0, 0, 0.38408524, 0, 0.38408524],
  ];
  close(sparseToDense(x), expected.flat());
});

test('idf, sublinear tf and the L2 norm follow the documented formulas', () => {
  const docs = ['cat cat cat dog', 'dog', 'bird'];
  const v = new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1], sublinearTf: true }).fit(docs);
  const idf = (df: number) => Math.log((1 + 3) / (1 + df)) + 1;
  close(v.idf, [idf(1), idf(1), idf(2)]); // bird, cat, dog
  const cat = (1 + Math.log(3)) * idf(1);
  const dog = idf(2);
  const n = Math.hypot(cat, dog);
  close(sparseToDense(v.transform(['cat cat cat dog'])), [0, cat / n, dog / n]);
  // Unknown terms only: an all-zero row (no NaN).
  close(sparseToDense(v.transform(['fish'])), [0, 0, 0]);
});

test("word bigrams, single-letter tokens dropped as by sklearn's token pattern", () => {
  assert.deepEqual(analyze('A Boy meets a wizard', { analyzer: 'word', ngramRange: [1, 2] }), [
    'boy',
    'meets',
    'wizard',
    'boy meets',
    'meets wizard',
  ]);
});

test("char_wb and char n-grams match sklearn's documented examples", () => {
  const wb = new TfidfVectorizer({ analyzer: 'char_wb', ngramRange: [5, 5] }).fit(['jumpy fox']);
  assert.deepEqual(wb.vocabulary, [' fox ', ' jump', 'jumpy', 'umpy ']);
  const ch = new TfidfVectorizer({ analyzer: 'char', ngramRange: [5, 5] }).fit(['jumpy fox']);
  assert.deepEqual(ch.vocabulary, ['jumpy', 'mpy f', 'py fo', 'umpy ', 'y fox']);
  const wb2 = new TfidfVectorizer({ analyzer: 'char_wb', ngramRange: [2, 2] }).fit(['words', 'wprds']);
  assert.deepEqual(wb2.vocabulary, [' w', 'ds', 'or', 'pr', 'rd', 's ', 'wo', 'wp']);
  // Code points, not UTF-16 units: an emoji is one character.
  assert.deepEqual(analyze('a😀b', { analyzer: 'char', ngramRange: [3, 3] }), ['a😀b']);
});

test('minDf, maxDf and maxFeatures select terms as sklearn does', () => {
  const docs = ['apple banana', 'apple cherry', 'apple banana date', 'banana'];
  const byCount = new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1], minDf: 2 }).fit(docs);
  assert.deepEqual(byCount.vocabulary, ['apple', 'banana']);
  const byShare = new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1], maxDf: 0.5 }).fit(docs);
  assert.deepEqual(byShare.vocabulary, ['cherry', 'date']);
  // Top 2 by total count (apple 3, banana 3), then sorted alphabetically.
  const top = new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1], maxFeatures: 2 }).fit(docs);
  assert.deepEqual(top.vocabulary, ['apple', 'banana']);
  assert.throws(
    () => new TfidfVectorizer({ analyzer: 'word', ngramRange: [1, 1], minDf: 10 }).fit(docs),
    /no terms/,
  );
  assert.throws(() => new TfidfVectorizer({ analyzer: 'word', ngramRange: [2, 1] }), /ngramRange/);
});

test('a fitted vectorizer survives a JSON round trip', () => {
  const v = new TfidfVectorizer({ analyzer: 'char_wb', ngramRange: [3, 3] }).fit(CORPUS);
  const back = TfidfVectorizer.fromJSON(JSON.parse(JSON.stringify(v.toJSON())));
  const a = v.transform(CORPUS);
  const b = back.transform(CORPUS);
  assert.deepEqual([...a.indptr], [...b.indptr]);
  assert.deepEqual([...a.indices], [...b.indices]);
  close(a.data, b.data, 0);
  // CSR indices are ascending within each row.
  for (let i = 0; i < a.nRows; i++) {
    for (let k = a.indptr[i] + 1; k < a.indptr[i + 1]; k++) assert.ok(a.indices[k] > a.indices[k - 1]);
  }
});
