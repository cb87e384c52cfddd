import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { MMIMDB_GENRES } from '../../src/data/genres.js';
import { mulberry32 } from '../../src/util/random.js';
import { toPredictionRows, writePredictions } from '../../src/eval/predictions.js';
import { readRunEval } from '../../src/eval/run-eval.js';
import { writeThresholds } from '../../src/eval/thresholds.js';
import { MMIMDB_SAMPLE, runCli, skipUnless, tempDir } from '../helpers/shared.js';

const GENRES_OF: Record<string, string[]> = {
  m1: ['Drama'],
  m2: ['Comedy', 'Romance'],
  m3: ['Drama', 'Crime'],
  m4: ['Comedy'],
  m5: ['Horror', 'Thriller'],
  m6: ['Drama', 'Romance'],
  d1: ['Drama'],
  t1: ['Comedy'],
};

/** A tiny dataset in the MM-IMDB directory layout, with real JPEG posters. */
async function writeDataset(): Promise<string> {
  const root = tempDir('mmgenre-eval-cli-');
  mkdirSync(join(root, 'dataset'));
  const jpeg = await sharp({ create: { width: 8, height: 12, channels: 3, background: '#884422' } })
    .jpeg()
    .toBuffer();
  for (const [id, genres] of Object.entries(GENRES_OF)) {
    writeFileSync(
      join(root, 'dataset', `${id}.json`),
      JSON.stringify({ title: id, genres, plot: [`The plot of ${id}.`] }),
    );
    writeFileSync(join(root, 'dataset', `${id}.jpeg`), jpeg);
  }
  writeFileSync(
    join(root, 'split.json'),
    JSON.stringify({ train: ['t1'], dev: ['d1'], test: ['m1', 'm2', 'm3', 'm4', 'm5', 'm6'] }),
  );
  return root;
}

function scoresFor(genres: string[], noise: number): number[] {
  return MMIMDB_GENRES.map((g, j) => (genres.includes(g) ? 0.9 - noise * (j % 3) : 0.05 + noise * (j % 4)));
}

test('eval prints every metric and the per-genre table, reports missing/unknown ids, writes JSON', async () => {
  const data = await writeDataset();
  const dir = tempDir();
  const preds = join(dir, 'preds.jsonl');
  // m6 has no prediction, x9 is not in the data.
  const ids = ['m1', 'm2', 'm3', 'm4', 'm5', 'x9'];
  writePredictions(
    preds,
    toPredictionRows(
      ids,
      ids.map((id) => scoresFor(GENRES_OF[id] ?? ['Drama'], 0.1)),
      MMIMDB_GENRES,
    ),
  );
  writeThresholds(join(dir, 'thresholds.json'), {
    labels: [...MMIMDB_GENRES],
    thresholds: MMIMDB_GENRES.map(() => 0.3),
    tunedOn: 'dev',
  });
  const out = join(dir, 'eval.json');
  const r = runCli([
    'eval',
    '--predictions',
    preds,
    '--data',
    data,
    '--threshold',
    'tuned',
    '--json',
    out,
    '--bootstrap',
    '50',
  ]);
  assert.equal(r.status, 0, r.stderr);
  for (const s of [
    'F1 micro',
    'F1 macro',
    'F1 weighted',
    'F1 samples',
    'Precision samples',
    'Recall weighted',
    'ROC-AUC macro',
    'Average precision micro',
    'Hamming loss',
    'Subset accuracy',
    'Label-wise accuracy',
    'dominated by negatives',
    '95% CI',
    'threshold 0.5',
    'tuned (dev)',
  ]) {
    assert.ok(r.stdout.includes(s), `output lacks "${s}"`);
  }
  assert.match(r.stdout, /Evaluated 5 of 6 movies/);
  assert.match(r.stdout, /1 movie\(s\) of the split have no prediction: m6/);
  assert.match(r.stdout, /1 predicted id\(s\) are not in the split: x9/);
  assert.match(r.stdout, /^Film-Noir\s+0\s/m);
  assert.match(r.stderr, /1 movie\(s\) without prediction, 1 unknown id/);
  const report = readRunEval(out);
  assert.equal(report.n, 5);
  assert.deepEqual(
    report.variants.map((v) => v.kind),
    ['default', 'tuned'],
  );
  // Predictions put every true genre at >= 0.7 and others at <= 0.35: perfect at 0.5.
  assert.equal(report.variants[0].metrics.f1.micro, 1);
  assert.ok(report.variants[1].metrics.f1.micro < 1, 'at 0.3 the noisier negatives become false positives');
  const lw = report.variants[0].metrics.labelwiseAccuracy;
  assert.equal(lw, 1);
  assert.ok(Math.abs(report.allNegative.labelwiseAccuracy - (1 - 8 / (5 * 23))) < 1e-12);

  const cmp = runCli(['compare', dir, '--published', '--json', join(dir, 'cmp.json')]);
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.match(cmp.stdout, /O≠\s+\S+\s+0\.5\s+1\.000/);
  assert.match(cmp.stdout, /DIFFERENT test set/);
  assert.match(cmp.stdout, /GMU\s+as published\s+0\.617\s+0\.630\s+0\.630\s+0\.541/);
  const cmpJson = JSON.parse(readFileSync(join(dir, 'cmp.json'), 'utf8'));
  assert.equal(cmpJson.ours.length, 2);
  assert.ok(cmpJson.publishedData.results.length >= 11);
});

test('eval rejects a bad predictions file line by line and fails when nothing is left', async () => {
  const data = await writeDataset();
  const preds = join(tempDir(), 'bad.jsonl');
  const good = (id: string): string =>
    JSON.stringify({ id, scores: Object.fromEntries(MMIMDB_GENRES.map((g) => [g, 0.2])) });
  writeFileSync(
    preds,
    [
      good('m1'),
      JSON.stringify({ id: 'm2', scores: { Drama: 0.2 } }),
      good('m3').replace('"Comedy":0.2', '"Comedy":1.7'),
      good('m4').replace('"Drama":0.2', '"Drama":NaN'),
      good('m5').slice(0, 40),
    ].join('\n'),
  );
  const r = runCli(['eval', '--predictions', preds, '--data', data]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /4 bad line\(s\)/);
  assert.match(r.stdout, /line 2: \(id m2\) missing scores for genre\(s\): Comedy, Romance/);
  assert.match(r.stdout, /line 3: \(id m3\) score for Comedy is 1\.7, outside \[0, 1\]/);
  assert.match(r.stdout, /line 4: .*NaN/);
  assert.match(r.stdout, /line 5: truncated line/);
  assert.match(r.stdout, /Evaluated 1 of 6 movies/);

  writeFileSync(preds, good('x1') + '\n');
  const none = runCli(['eval', '--predictions', preds, '--data', data]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /nothing to evaluate/);
  const badT = runCli(['eval', '--predictions', preds, '--data', data, '--threshold', 'high']);
  assert.equal(badT.status, 2);
  assert.match(badT.stderr, /--threshold must be 0.5, tuned or a number/);
  const noT = runCli(['eval', '--predictions', preds, '--data', data, '--threshold', 'tuned']);
  assert.equal(noT.status, 2);
  assert.match(noT.stderr, /thresholds\.json not found/);
});

test('compare --published alone prints the published table with sources', () => {
  const r = runCli(['compare', '--published']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /MaxoutMLP \+ word2vec \(text\)\s+as published\s+0\.588\s+0\.592\s+0\.595\s+0\.488/);
  assert.match(r.stdout, /VGG transfer \(visual\)\s+as published\s+0\.410\s+0\.429\s+0\.437\s+0\.284/);
  assert.match(r.stdout, /CoMM \(fine-tuned\)\s+as published\s+0\.6739\s+—\s+—\s+0\.620/);
  assert.match(r.stdout, /\[arevalo2017\].*arXiv:1702\.01992/);
  assert.match(r.stdout, /\[kiela2019\]/);
  const noData = runCli(['compare', join(tempDir(), 'p.jsonl')]);
  assert.equal(noData.status, 2);
});

test('eval and compare on the real MM-IMDB sample test split', { skip: skipUnless(MMIMDB_SAMPLE) }, () => {
  const split = JSON.parse(readFileSync(join(MMIMDB_SAMPLE, 'split.json'), 'utf8')) as { test: string[] };
  const genresOf = (id: string): string[] =>
    (JSON.parse(readFileSync(join(MMIMDB_SAMPLE, 'dataset', `${id}.json`), 'utf8')) as { genres: string[] })
      .genres;
  const rand = mulberry32(1);
  const probs = split.test.map((id) => {
    const g = genresOf(id);
    return MMIMDB_GENRES.map((name) => (g.includes(name) ? 0.3 + 0.7 * rand() : 0.6 * rand() ** 2));
  });
  const dir = tempDir();
  const preds = join(dir, 'test.jsonl');
  writePredictions(preds, toPredictionRows(split.test, probs, MMIMDB_GENRES));
  const r = runCli([
    'eval',
    '--predictions',
    preds,
    '--data',
    MMIMDB_SAMPLE,
    '--json',
    join(dir, 'eval.json'),
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Evaluated ${split.test.length} of ${split.test.length} movies`));
  for (const g of MMIMDB_GENRES) assert.match(r.stdout, new RegExp(`^${g}\\s+\\d+`, 'm'));
  const report = readRunEval(join(dir, 'eval.json'));
  const m = report.variants[0].metrics;
  assert.ok(
    m.rocAuc.macro! > 0.8 && m.f1.micro > 0.4,
    `informative scores: ${m.rocAuc.macro}, ${m.f1.micro}`,
  );
  assert.ok(report.allNegative.labelwiseAccuracy > 0.85 && report.allNegative.labelwiseAccuracy < 0.95);
  const cmp = runCli(['compare', preds, '--data', MMIMDB_SAMPLE, '--published']);
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.match(cmp.stdout, new RegExp(`O≠\\s+test\\s+0\\.5.*\\(${split.test.length} movies\\)`));
});
