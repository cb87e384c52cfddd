import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../../src/data/load.js';
import { formatGridText, runGrid, type GridReport } from '../../../src/experiments/study/index.js';
import { runCli, tempDir } from '../../helpers/shared.js';
import { makeGridTmdb, type TmdbFixture } from './tmdb-fixture.js';

// Few epochs and two seeds: this checks the plumbing (rows, spreads, poster modes, analysis),
// not the scores; real figures come from `mmgenre grid` on the shared sample.
const FAST = { epochs: 2, patience: 2, batchSize: 16 };

describe('mmgenre grid on a small TMDB-layout dataset', () => {
  let fx: TmdbFixture;
  let cacheDir: string;
  let out: string;
  let report: GridReport;
  let splitPosters: { train: number; dev: number; test: number };
  let splitAll: { train: number; dev: number; test: number };

  before(async () => {
    fx = await makeGridTmdb(40, 3);
    cacheDir = tempDir('mmgenre-grid-cache-');
    out = join(tempDir('mmgenre-grid-out-'), 'grid');
    const ds = await loadDataset(fx.root);
    const count = (ids: string[], poster: boolean) =>
      ids.filter((id) => !poster || ds.records.find((r) => r.id === id)!.posterPath).length;
    splitAll = {
      train: count(ds.splits.train, false),
      dev: count(ds.splits.dev, false),
      test: count(ds.splits.test, false),
    };
    splitPosters = {
      train: count(ds.splits.train, true),
      dev: count(ds.splits.dev, true),
      test: count(ds.splits.test, true),
    };
    report = await runGrid({
      data: fx.root,
      features: ['overview', 'poster'],
      // The GMU (per-unit softmax over inputs) as a third column: two more short trainings.
      fusions: ['concat', 'sum', 'gmu'],
      seeds: [1, 2],
      missingPoster: 'drop',
      workers: 2,
      out,
      cacheDir,
      training: FAST,
      bootstrapResamples: 200,
      progress: false,
    });
  });

  test('one row per combination and fusion (single inputs once), each over both seeds', () => {
    assert.deepEqual(
      report.cells.map((c) => `${c.label}/${c.fusion ?? '-'}`),
      [
        'overview & poster/concat',
        'overview & poster/sum',
        'overview & poster/gmu',
        'overview alone/-',
        'poster alone/-',
      ],
    );
    assert.equal(report.runs.length, 10);
    assert.ok(
      report.runs.every((r) => r.status === 'done'),
      JSON.stringify(report.runs.filter((r) => r.status !== 'done')),
    );
    for (const c of report.cells) {
      assert.deepEqual(c.seeds, [1, 2]);
      for (const m of ['labelwiseAccuracy', 'rocAucMacro', 'f1Micro', 'f1Macro'] as const) {
        const s = c.metrics[m]!;
        assert.equal(s.n, 2);
        assert.ok(s.min <= s.mean && s.mean <= s.max && s.std >= 0, `${c.key} ${m}`);
        assert.ok(s.mean >= 0 && s.mean <= 1);
      }
      // Spread = sample std of the two seeds' own test scores.
      const runs = report.runs.filter((r) => r.cell === c.key).map((r) => r.test!.f1Macro);
      assert.ok(Math.abs(c.metrics.f1Macro!.std - Math.abs(runs[0] - runs[1]) / Math.SQRT2) < 1e-9);
    }
    assert.deepEqual(report.cells[0].study, { labelwiseAccuracy: 0.8645, rocAucMacro: 0.6914 });
    // The study trained no GMU: nothing published to show beside it.
    assert.equal(report.cells[2].study, undefined);
    const gmuConfig = readFileSync(join(out, 'configs', 'grid-overview_poster-gmu-s1.yaml'), 'utf8');
    assert.match(gmuConfig, /type: gmu/);
  });

  test('fusions compared row by row, every pair, with the same paired test; a column per fusion', () => {
    const fusionCmp = report.comparisons.filter((c) => c.kind === 'fusion');
    assert.deepEqual(
      fusionCmp.map((c) => `${c.a} vs ${c.b}`),
      [
        'overview+poster/concat vs overview+poster/sum',
        'overview+poster/concat vs overview+poster/gmu',
        'overview+poster/sum vs overview+poster/gmu',
      ],
    );
    for (const c of fusionCmp) {
      assert.equal(c.seeds, 2);
      assert.ok(c.auc.low <= c.auc.diff && c.auc.diff <= c.auc.high, JSON.stringify(c.auc));
      const a = report.cells.find((x) => x.key === c.a)!;
      const b = report.cells.find((x) => x.key === c.b)!;
      // Same test movies, and the AUCs are those of the seed-averaged predictions (not the seeds' mean).
      assert.equal(c.n, a.sizes!.test);
      assert.ok(Math.abs(c.auc.a - c.auc.b - c.auc.diff) < 1e-9);
      assert.equal(b.sizes!.test, c.n);
    }
    const text = formatGridText(report);
    assert.match(text, /concatenation vs GMU: overview & poster: (concat|gmu) by \d\.\d{3} AUC/);
    assert.match(text, /summation vs GMU: overview & poster: (sum|gmu) by \d\.\d{3} AUC/);
    assert.match(text, /With GMU(, among [^,]+)?, the best row by mean macro ROC-AUC is/);
    // The study's layout: a row per combination, a column per fusion plus one for single inputs.
    const wide = text.slice(text.indexOf('By fusion:')).split('\n');
    assert.match(wide[1], /^inputs\s+concat\s+sum\s+gmu\s+alone$/);
    const gmu = report.cells[2];
    const pair = wide.find((l) => l.startsWith('overview & poster'))!;
    assert.ok(
      pair.includes(
        `${gmu.metrics.rocAucMacro!.mean.toFixed(3)} ± ${gmu.metrics.rocAucMacro!.std.toFixed(3)} / ${gmu.metrics.f1Macro!.mean.toFixed(3)}`,
      ),
      pair,
    );
    assert.match(wide.find((l) => l.startsWith('poster alone'))!, /^poster alone\s+–\s+–\s+–\s+0\.\d{3}/);
  });

  test('drop: poster rows train and test on the movies with a poster, the others on all', () => {
    for (const c of report.cells) {
      assert.deepEqual(c.sizes, c.combination.includes('poster') ? splitPosters : splitAll, c.key);
    }
    assert.ok(splitPosters.test < splitAll.test);
    const poster = report.features.find((f) => f.feature === 'poster')!;
    assert.equal(poster.rows - poster.missing, fx.withPoster);
  });

  test('the table, the analysis and the files', () => {
    const text = formatGridText(report);
    for (const label of ['overview & poster', 'overview alone', 'poster alone'])
      assert.ok(text.includes(label));
    assert.match(text, /\d\.\d{4} ± \d\.\d{4}/);
    assert.match(text, /study acc/);
    assert.match(text, /Do we always need many features\?/);
    assert.match(text, /paired bootstrap over movies/);
    assert.match(text, /predicting no genre at all scores 0\.\d{3}/);
    assert.match(text, /dropped from poster rows only/);
    assert.ok(report.comparisons.some((c) => c.kind === 'fusion'));
    assert.ok(report.comparisons.every((c) => c.n > 0 && c.auc.low <= c.auc.high));
    const json = JSON.parse(readFileSync(join(out, 'grid.json'), 'utf8')) as GridReport;
    assert.equal(json.cells.length, 5);
    const md = readFileSync(join(out, 'grid.md'), 'utf8');
    assert.match(md, /^\| overview & poster \| concat \|/m);
    assert.match(md, /^\| inputs \| concat \| sum \| gmu \| alone \|$/m);
    assert.match(md, /## Analysis/);
  });

  test('running it again reuses every finished run', async () => {
    const again = await runGrid({
      data: fx.root,
      features: ['overview', 'poster'],
      fusions: ['concat', 'sum', 'gmu'],
      seeds: [1, 2],
      out,
      cacheDir,
      training: FAST,
      bootstrapResamples: 200,
      progress: false,
    });
    assert.ok(again.runs.every((r) => r.status === 'reused'));
    assert.deepEqual(
      again.cells.map((c) => c.metrics.rocAucMacro),
      report.cells.map((c) => c.metrics.rocAucMacro),
    );
    // Other settings on the same folder are refused rather than mixed in.
    await assert.rejects(
      runGrid({
        data: fx.root,
        features: ['overview', 'poster'],
        seeds: [1],
        out,
        cacheDir,
        training: { epochs: 3 },
        progress: false,
      }),
      /holds a run with a different config/,
    );
  });

  test('CLI, mask: poster rows keep every movie, the poster marked missing (MoE gate masked too)', () => {
    const maskOut = join(tempDir('mmgenre-grid-mask-'), 'g');
    const r = runCli(
      [
        'grid',
        '--data',
        fx.root,
        '--features',
        'title,poster',
        '--fusion',
        'concat,moe',
        '--seeds',
        '1',
        '--missing-poster',
        'mask',
        '--epochs',
        '2',
        '--out',
        maskOut,
        '--cache',
        cacheDir,
        '--json',
      ],
      { timeoutMs: 300_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as GridReport;
    assert.deepEqual(
      rep.cells.map((c) => c.label),
      ['title & poster', 'title & poster', 'poster alone'],
    );
    assert.deepEqual(
      rep.cells.map((c) => c.fusion),
      ['concat', 'moe', null],
    );
    const both = rep.cells[0];
    assert.deepEqual(both.sizes, splitAll);
    assert.deepEqual(rep.cells[1].sizes, splitAll);
    assert.ok(Number.isFinite(rep.cells[1].metrics.rocAucMacro!.mean));
    assert.ok(rep.comparisons.some((c) => c.kind === 'fusion' && c.b === 'title+poster/moe'));
    // Alone, the poster has nothing for a movie without one: those leave training, never the test set.
    assert.equal(rep.cells[2].sizes!.test, splitAll.test);
    assert.equal(rep.cells[2].sizes!.train, splitPosters.train);
    assert.ok(existsSync(join(maskOut, 'grid.md')));
  });

  test('CLI: bad arguments are clear errors (exit 2)', () => {
    const bad = (args: string[], re: RegExp) => {
      const r = runCli(['grid', '--data', fx.root, ...args]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
    };
    bad(['--fusion', 'gmu,late'], /--fusion must be concat, sum, gmu or moe, got 'late'/);
    bad(['--features', 'overview,budget'], /unknown feature 'budget'/);
    bad(['--missing-poster', 'keep'], /--missing-poster must be drop or mask/);
    bad(['--seeds', '0'], /--seeds must be a positive integer/);
  });
});
