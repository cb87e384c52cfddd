import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset } from '../../src/data/load.js';
import type { MovieRecord } from '../../src/data/types.js';
import { fitCompanyVocabulary } from '../../src/text/companies.js';
import {
  computeSequenceFeatures,
  fitTfidfEncoderOptions,
  sequenceFeaturesKey,
  textEncoders,
} from '../../src/text/encoders.js';
import { loadGlove } from '../../src/text/glove.js';
import { meanVector } from '../../src/text/mean.js';
import { tokenize } from '../../src/text/tokenize.js';
import { MMIMDB_SAMPLE, skipUnless, TMDB_SAMPLE } from '../helpers/shared.js';

const record = (id: string, fields: Partial<MovieRecord>): MovieRecord => ({
  id,
  plot: null,
  genres: [],
  posterPath: null,
  meta: {},
  ...fields,
});

/** An encoder made from its name and options after a JSON round trip, as a worker thread makes it. */
const fromJson = (name: string, options: Record<string, unknown> = {}) =>
  textEncoders[name](JSON.parse(JSON.stringify(options)));

test(
  "glove-mean on real MM-IMDB plots: the mean of the plot tokens' vectors; no plot → error",
  { skip: skipUnless(MMIMDB_SAMPLE), timeout: 120_000 },
  async () => {
    const ds = await loadDataset(MMIMDB_SAMPLE);
    const records = [
      ...ds.records.slice(0, 150),
      record('no-plot', {}),
      record('numbers', { plot: '1 2 3 !!' }),
    ];
    const enc = fromJson('glove-mean');
    assert.equal(enc.modality, 'plot');
    assert.equal(enc.dim, 100);
    await enc.init();
    const out = await enc.encode(records);
    const vectors = await loadGlove();
    let encoded = 0;
    for (let i = 0; i < 150; i++) {
      const v = out[i];
      const expected = meanVector(tokenize(records[i].plot), vectors);
      if (expected === null) {
        // Real data has placeholder plots such as "N/A": no GloVe word → missing, not zeros.
        assert.ok('error' in v, `record ${records[i].id}`);
        continue;
      }
      assert.ok(v instanceof Float32Array, `record ${records[i].id}: ${JSON.stringify(v)}`);
      assert.deepEqual([...v], [...expected]);
      assert.ok(v.every(Number.isFinite));
      encoded++;
    }
    assert.ok(encoded >= 140, `${encoded} of 150 plots encoded`);
    assert.notDeepEqual(out[0], out[1]);
    assert.deepEqual(out[150], { error: 'no plot' });
    assert.ok('error' in out[151]); // numbers only: no GloVe word → missing, not zeros
    enc.dispose();
  },
);

test('encoder keys follow the options; bad options are a clear error', () => {
  const a = fromJson('glove-mean');
  assert.equal(a.key, fromJson('glove-mean').key);
  assert.notEqual(a.key, fromJson('glove-mean', { stopWords: false }).key);
  assert.notEqual(a.key, fromJson('title-glove-mean').key);
  assert.throws(() => fromJson('glove-mean', { topN: -3 }), /glove-mean: bad options/);
  assert.throws(() => fromJson('glove-mean', { typo: 1 }), /bad options/);
  assert.throws(() => fromJson('companies-multihot', {}), /companies-multihot: bad options/);
});

test(
  'TMDB titles and companies: title-glove-mean and a multi-hot fitted on the training split',
  { skip: skipUnless(TMDB_SAMPLE), timeout: 120_000 },
  async () => {
    const ds = await loadDataset(TMDB_SAMPLE);
    const train = ds.records.filter((r) => r.split === 'train');
    const vocabulary = fitCompanyVocabulary(train, { minCount: 3, maxCompanies: 50 });
    assert.ok(vocabulary.length > 5 && vocabulary.length <= 50, `${vocabulary.length} companies`);
    const enc = fromJson('companies-multihot', { vocabulary });
    assert.equal(enc.dim, vocabulary.length + 1);
    const sample = [...ds.records.slice(0, 200), record('none', { companies: [] })];
    const out = await enc.encode(sample);
    for (let i = 0; i < 200; i++) {
      const names = sample[i].companies ?? [];
      const v = out[i];
      if (names.length === 0) {
        assert.ok('error' in v);
        continue;
      }
      assert.ok(v instanceof Float32Array);
      const known = vocabulary.filter((c) => names.includes(c)).length;
      assert.equal(
        v.subarray(0, vocabulary.length).reduce((s, x) => s + x, 0),
        known,
      );
      assert.equal(v[vocabulary.length], names.some((c) => !vocabulary.includes(c)) ? 1 : 0);
    }
    assert.deepEqual(out[200], { error: 'no production companies' });
    // Different fitted vocabularies → different keys.
    assert.notEqual(enc.key, fromJson('companies-multihot', { vocabulary: vocabulary.slice(1) }).key);

    const title = fromJson('title-glove-mean');
    assert.equal(title.modality, 'title');
    const titles = await title.encode(ds.records.slice(0, 50));
    assert.ok(titles.filter((t) => t instanceof Float32Array).length >= 45);
  },
);

test(
  'tfidf encoder: fitted on training plots, unit-norm rows, missing plot → error',
  { skip: skipUnless(MMIMDB_SAMPLE), timeout: 120_000 },
  async () => {
    const ds = await loadDataset(MMIMDB_SAMPLE);
    const train = ds.records.filter((r) => r.split === 'train').slice(0, 300);
    const opts = fitTfidfEncoderOptions(
      train.map((r) => r.plot),
      { analyzer: 'word', ngramRange: [1, 2], minDf: 2, maxFeatures: 2000 },
    );
    assert.equal(opts.state.vocabulary.length, 2000);
    assert.ok(!opts.state.vocabulary.some((t) => t.includes('::')));
    const enc = fromJson('tfidf', opts);
    assert.equal(enc.dim, 2000);
    const dev = [...ds.records.filter((r) => r.split === 'dev').slice(0, 30), record('x', {})];
    const out = await enc.encode(dev);
    let encoded = 0;
    for (const v of out.slice(0, 30)) {
      if ('error' in v) {
        // A placeholder plot ("N/A") is dropped by the loader; a plot of unknown words has no term.
        assert.match(v.error, /no plot|no term of the plot/);
        continue;
      }
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
      encoded++;
    }
    assert.ok(encoded >= 27, `${encoded} of 30 dev plots encoded`);
    assert.deepEqual(out[30], { error: 'no plot' });
  },
);

test(
  'sequence features: ids within maxLen, missing when no plot, key by vocabulary and maxLen',
  { skip: skipUnless(MMIMDB_SAMPLE), timeout: 120_000 },
  async () => {
    const ds = await loadDataset(MMIMDB_SAMPLE);
    const vectors = await loadGlove();
    const withWords = ds.records.filter((r) => meanVector(tokenize(r.plot), vectors) !== null);
    const records = [...withWords.slice(0, 40), record('no-plot', {})];
    const s = await computeSequenceFeatures(records, { maxLen: 60, maxWords: 20_000 });
    assert.equal(s.vocabSize, 20_002);
    assert.deepEqual(
      s.ids,
      records.map((r) => r.id),
    );
    for (let i = 0; i < 40; i++) {
      assert.equal(s.missing[i], 0);
      assert.equal(s.sequences[i].length, Math.min(60, tokenize(records[i].plot).length));
      assert.ok(s.sequences[i].every((id) => id >= 1 && id < 20_002));
    }
    assert.equal(s.missing[40], 1);
    assert.equal(s.sequences[40].length, 0);
    assert.equal(s.errors[40], 'no plot');
    assert.equal(s.key, sequenceFeaturesKey({ maxLen: 60, maxWords: 20_000 }));
    assert.notEqual(s.key, sequenceFeaturesKey({ maxLen: 100, maxWords: 20_000 }));
    assert.notEqual(s.key, sequenceFeaturesKey({ maxLen: 60, vocabulary: ['the', 'wizard'] }));
  },
);
