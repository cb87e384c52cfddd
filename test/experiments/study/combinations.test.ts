import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allCombinations,
  combinationKey,
  combinationLabel,
  GridInputError,
  parseFeatureList,
  selectCombinations,
  STUDY_COMBINATIONS,
  STUDY_RESULTS,
  studyScore,
} from '../../../src/experiments/study/index.js';

test('every non-empty subset, singles first, each once and in canonical order', () => {
  const all = allCombinations(['poster', 'overview', 'companies', 'title']);
  assert.equal(all.length, 15);
  assert.equal(new Set(all.map(combinationKey)).size, 15);
  assert.deepEqual(all.slice(0, 4), [['overview'], ['title'], ['companies'], ['poster']]);
  assert.deepEqual(all.at(-1), ['overview', 'title', 'companies', 'poster']);
  for (let k = 1; k < all.length; k++) assert.ok(all[k - 1].length <= all[k].length);
  assert.equal(allCombinations(['title', 'poster']).length, 3);
});

test("the study's seven rows, restricted to the features asked for", () => {
  const study = selectCombinations(['overview', 'title', 'companies', 'poster'], 'study');
  assert.equal(study.length, 7);
  assert.deepEqual(study.map(combinationLabel), [
    'overview & poster',
    'production companies & poster',
    'title & poster',
    'overview, title & poster',
    'overview, title, production companies & poster',
    'overview alone',
    'poster alone',
  ]);
  // MM-IMDB has no companies: the rows with companies go.
  assert.deepEqual(selectCombinations(['overview', 'title', 'poster'], 'study').map(combinationKey), [
    'overview+poster',
    'title+poster',
    'overview+title+poster',
    'overview',
    'poster',
  ]);
  assert.throws(() => selectCombinations(['companies'], 'study'), GridInputError);
  assert.equal(selectCombinations(['companies'], 'all').length, 1);
});

test('feature names: plot is an alias of overview, unknown names are refused', () => {
  assert.deepEqual(parseFeatureList('plot,title,poster'), ['overview', 'title', 'poster']);
  assert.deepEqual(parseFeatureList('poster, overview,plot'), ['overview', 'poster']);
  assert.throws(() => parseFeatureList('overview,genre'), /unknown feature 'genre'/);
  assert.throws(() => parseFeatureList(' , '), GridInputError);
});

test("the study's published numbers are kept per row and fusion", () => {
  assert.equal(STUDY_RESULTS.length, STUDY_COMBINATIONS.length);
  assert.deepEqual(studyScore(['overview', 'poster'], 'concat'), {
    labelwiseAccuracy: 0.8645,
    rocAucMacro: 0.6914,
  });
  assert.deepEqual(studyScore(['poster', 'overview'], 'sum'), {
    labelwiseAccuracy: 0.8634,
    rocAucMacro: 0.6845,
  });
  assert.deepEqual(studyScore(['poster'], null), { labelwiseAccuracy: 0.8025, rocAucMacro: 0.5978 });
  assert.equal(studyScore(['title'], null), undefined);
});
