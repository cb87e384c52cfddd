import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readPredictions } from '../../src/eval/predictions.js';
import {
  BusyError,
  formatPrediction,
  loadPredictor,
  NoUsableInputError,
  PredictionBatcher,
  predictDataset,
  type Predictor,
} from '../../src/predict/index.js';
import { runCli, tempDir } from '../helpers/shared.js';
import { hasGmu, trainTinyGmu, trainTinyRun, type TinyRun } from './fixture.js';

let tiny: TinyRun;
let predictor: Predictor;

/** A test movie of the synthetic dataset: its files and the trainer's own prediction for it. */
function testMovie(k = 0): { id: string; poster: string; plot: string; scores: Record<string, number> } {
  const preds = readPredictions(join(tiny.runDir, 'predictions-test.jsonl'));
  const row = preds.rows[k];
  const json = JSON.parse(readFileSync(join(tiny.dataDir, 'dataset', `${row.id}.json`), 'utf8')) as {
    plot: string[];
  };
  // The loader reads the longest plot (MM-IMDB keeps several).
  const plot = json.plot.reduce((a, b) => (b.length > a.length ? b : a));
  return { id: row.id, poster: join(tiny.dataDir, 'dataset', `${row.id}.jpeg`), plot, scores: row.scores };
}

function assertClose(a: Record<string, number>, b: Record<string, number>, tol = 1e-5): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  for (const k of Object.keys(a)) assert.ok(Math.abs(a[k] - b[k]) <= tol, `${k}: ${a[k]} vs ${b[k]}`);
}

describe('predict from raw inputs', { timeout: 240_000 }, () => {
  before(async () => {
    tiny = await trainTinyRun();
    predictor = await loadPredictor(tiny.runDir);
  });
  after(() => predictor?.dispose());

  test('a poster file and a plot give the same scores as the trainer on that movie', async () => {
    const m = testMovie(0);
    const [p] = await predictor.predict([{ poster: m.poster, plot: m.plot }]);
    assertClose(p.scores, m.scores);
    assert.deepEqual(p.inputsUsed, ['poster', 'plot']);
    assert.deepEqual(p.inputsMissing, []);
    assert.equal(p.thresholds.kind, '0.5', 'the one default policy: 0.5');
    // genres: exactly those at or above their threshold, most probable first
    const expected = Object.entries(p.scores)
      .filter(([g, s]) => s >= p.thresholds.values[g])
      .sort((a, b) => b[1] - a[1])
      .map(([g]) => g);
    assert.deepEqual(p.genres, expected);
    assert.equal(p.contributions, undefined, 'an MLP has no gate');
  });

  test('poster bytes equal the poster path; 0.5 thresholds are 0.5', async () => {
    const m = testMovie(1);
    const [byPath, byBytes] = await predictor.predict(
      [
        { poster: m.poster, plot: m.plot },
        { poster: readFileSync(m.poster), plot: m.plot },
      ],
      { threshold: '0.5' },
    );
    assertClose(byPath.scores, byBytes.scores, 1e-6);
    assert.ok(Object.values(byBytes.thresholds.values).every((t) => t === 0.5));
    assert.deepEqual(
      byBytes.genres.slice().sort(),
      Object.keys(byBytes.scores)
        .filter((g) => byBytes.scores[g] >= 0.5)
        .sort(),
    );
  });

  test('a bad poster is a missing input with its reason; the plot alone still predicts', async () => {
    const m = testMovie(2);
    const [p] = await predictor.predict([
      { poster: Buffer.from('this is not an image'), plot: m.plot, title: 'X' },
    ]);
    assert.deepEqual(p.inputsUsed, ['plot']);
    assert.equal(p.inputsMissing.length, 1);
    assert.equal(p.inputsMissing[0].input, 'poster');
    assert.match(p.inputsMissing[0].reason, /image/);
    assert.doesNotMatch(
      p.inputsMissing[0].reason,
      /mmgenre-predict-/,
      'no temporary path leaks into the reason',
    );
    assert.deepEqual(p.inputsIgnored, ['title']);
    const [plotOnly] = await predictor.predict([{ plot: m.plot }]);
    assertClose(p.scores, plotOnly.scores, 1e-6);
  });

  test('every input missing is a clear error; predictSettled keeps the others', async () => {
    await assert.rejects(
      predictor.predict([{ plot: '!!! ... ???' }]),
      (err: unknown) =>
        err instanceof NoUsableInputError &&
        /plot/.test(err.message) &&
        err.missing.some((x) => x.input === 'poster' && /no poster given/.test(x.reason)),
    );
    const m = testMovie(0);
    const settled = await predictor.predictSettled([{}, { plot: m.plot }]);
    assert.ok(settled[0] instanceof NoUsableInputError);
    assert.ok(!(settled[1] instanceof Error));
    await assert.rejects(predictor.predict([{ plot: m.plot }, {}]), /movie 2 of 2/);
  });

  test('the batcher groups concurrent calls and gives the same answers', async () => {
    const batcher = new PredictionBatcher(predictor, 8);
    const movies = [0, 1, 2, 3, 4, 5].map((k) => testMovie(k));
    const results = await Promise.all(movies.map((m) => batcher.predict({ plot: m.plot })));
    const direct = await predictor.predict(movies.map((m) => ({ plot: m.plot })));
    results.forEach((r, i) => assertClose(r.scores, direct[i].scores, 1e-6));
    const stats = batcher.getStats();
    assert.equal(stats.predictions, 6);
    // Calls made in one event-loop turn share one batch: the batcher runs from the check phase.
    assert.deepEqual([stats.batches, stats.largestBatch], [1, 6], JSON.stringify(stats));
    await assert.rejects(batcher.predict({}), NoUsableInputError);
  });

  test('the batcher refuses a call that can no longer be answered by its deadline', async () => {
    const batcher = new PredictionBatcher(predictor, { deadlineMs: 1000 });
    const plot = testMovie(0).plot;
    // Arrived 5 s ago (a slow upload): refused at once, before any batch runs.
    await assert.rejects(
      batcher.predict({ plot }, { receivedAt: performance.now() - 5000 }),
      (err: unknown) => err instanceof BusyError && err.retryAfterSeconds >= 1,
    );
    assert.deepEqual([batcher.getStats().batches, batcher.getStats().refused], [0, 1]);
    // Arrived now: answered.
    const p = await batcher.predict({ plot }, { receivedAt: performance.now() });
    assert.equal(Object.keys(p.scores).length, 23);
    assert.equal(batcher.getStats().batches, 1);
  });

  /** The real predictor, each batch slowed by `ms` (a machine whose CPU other work is taking). */
  const slowed = (ms: number): Predictor => ({
    ...predictor,
    predictSettled: async (inputs, opts) => {
      await sleep(ms);
      return predictor.predictSettled(inputs, opts);
    },
  });

  test('a call whose batch runs past its deadline is refused at the deadline, not answered late', async () => {
    const batcher = new PredictionBatcher(slowed(700), { deadlineMs: 300 });
    const started = performance.now();
    await assert.rejects(
      batcher.predict({ plot: testMovie(0).plot }),
      (err: unknown) => err instanceof BusyError && /did not finish in time/.test(err.message),
    );
    const waited = performance.now() - started;
    assert.ok(waited >= 200 && waited < 300, `refused after ${waited.toFixed(0)} ms`);
    assert.deepEqual([batcher.getStats().refused, batcher.getStats().overran], [1, 1]);
  });

  test('after warm-up, a burst is answered within the deadline or refused at once', async () => {
    const batcher = new PredictionBatcher(slowed(60), { deadlineMs: 1000, admitWithinMs: 250 });
    const movies = [0, 1, 2, 3].map((k) => ({ plot: testMovie(k).plot }));
    await batcher.warmUp(movies);
    // The warm-up's batches are not counted.
    assert.deepEqual([batcher.getStats().batches, batcher.getStats().predictions], [0, 0]);
    const times = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const started = performance.now();
        const answered = await batcher.predict(movies[i % 4]).then(
          () => true,
          (err: unknown) => {
            assert.ok(err instanceof BusyError, String(err));
            return false;
          },
        );
        return { answered, ms: performance.now() - started };
      }),
    );
    const answered = times.filter((t) => t.answered);
    const refused = times.filter((t) => !t.answered);
    assert.ok(
      answered.length >= 1 && refused.length >= 10,
      `${answered.length} answered, ${refused.length} refused`,
    );
    // Refused on arrival (the same turn), not after waiting in the queue.
    assert.ok(
      Math.max(...refused.map((t) => t.ms)) < 50,
      JSON.stringify(refused.map((t) => Math.round(t.ms))),
    );
    assert.ok(Math.max(...answered.map((t) => t.ms)) < 1000);
    assert.equal(batcher.getStats().overran, 0);
  });

  test('formatPrediction lists every genre by probability and marks the predicted ones', async () => {
    const [p] = await predictor.predict([{ plot: testMovie(0).plot }]);
    const text = formatPrediction(p);
    const lines = text.split('\n').filter((l) => /^[* ] \S/.test(l) && /\d\.\d{3}/.test(l));
    assert.equal(lines.length, 23);
    const probs = lines.map((l) => Number(/(\d\.\d{3})/.exec(l)![1]));
    assert.deepEqual(
      probs,
      [...probs].sort((a, b) => b - a),
    );
    assert.equal(lines.filter((l) => l.startsWith('*')).length, p.genres.length);
    assert.match(text, /input missing: poster \(no poster given\)/);
  });

  test('predictDataset writes the test predictions (cached features, then direct encoders)', async () => {
    const out = join(tempDir(), 'preds.jsonl');
    const r = await predictDataset(tiny.runDir, tiny.dataDir, {
      out,
      predictor,
      progress: false,
      workers: 0,
    });
    const mine = readPredictions(out);
    const trainer = readPredictions(join(tiny.runDir, 'predictions-test.jsonl'));
    assert.equal(r.rows, trainer.rows.length);
    assert.deepEqual(mine.errors, []);
    const byId = new Map(trainer.rows.map((x) => [x.id, x.scores]));
    for (const row of mine.rows) assertClose(row.scores, byId.get(row.id)!);
    const out2 = join(tempDir(), 'all.jsonl');
    const r2 = await predictDataset(tiny.runDir, tiny.dataDir, {
      out: out2,
      split: 'all',
      cache: false,
      predictor,
      progress: false,
    });
    assert.equal(r2.rows, 60);
    const all = new Map(readPredictions(out2).rows.map((x) => [x.id, x.scores]));
    for (const row of mine.rows) assertClose(all.get(row.id)!, row.scores);
  });

  test('predictDataset on a dataset with a broken movie: skipped with reasons, the rest predicted', async () => {
    const copy = join(tempDir(), 'data');
    cpSync(tiny.dataDir, copy, { recursive: true });
    const ids = readdirSync(join(copy, 'dataset'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace('.json', ''));
    const victim = ids[0];
    writeFileSync(join(copy, 'dataset', `${victim}.jpeg`), 'not a jpeg at all');
    const json = JSON.parse(readFileSync(join(copy, 'dataset', `${victim}.json`), 'utf8')) as Record<
      string,
      unknown
    >;
    json.plot = ['... !!! ...'];
    writeFileSync(join(copy, 'dataset', `${victim}.json`), JSON.stringify(json));
    const out = join(tempDir(), 'p.jsonl');
    const r = await predictDataset(tiny.runDir, copy, {
      out,
      split: 'all',
      cache: false,
      predictor,
      progress: false,
    });
    const rows = readPredictions(out).rows;
    assert.ok(!rows.some((x) => x.id === victim));
    // A movie whose every input is unusable is skipped with each reason, not written as a guess.
    assert.deepEqual(
      r.skipped.map((x) => x.id),
      [victim],
    );
    assert.deepEqual(
      r.skipped[0].missing.map((x) => x.input),
      ['poster', 'plot'],
    );
    assert.match(r.skipped[0].missing[1].reason, /no word tokens|GloVe/);
    assert.equal(r.missingByInput.poster, 1);
    assert.equal(rows.length, r2Count(copy) - 1);
  });

  test(
    "a GMU run reports each modality's share, and a missing modality gets none",
    { skip: hasGmu() ? false : 'no gmu model family in this build' },
    async () => {
      const dir = await trainTinyGmu(join(tempDir(), 'gmu'), tiny.gloveCache);
      const gmu = await loadPredictor(dir);
      try {
        assert.deepEqual(gmu.gate?.modalities, ['poster', 'plot']);
        const m = testMovie(0);
        const [both, plotOnly] = await gmu.predict([{ poster: m.poster, plot: m.plot }, { plot: m.plot }]);
        assert.ok(both.contributions);
        const s = both.contributions.poster + both.contributions.plot;
        assert.ok(Math.abs(s - 1) < 1e-5, `shares sum to ${s}`);
        assert.ok(both.contributions.poster > 0 && both.contributions.poster < 1);
        assert.ok(plotOnly.contributions!.poster < 1e-6, 'the absent poster has no share');
        assert.match(formatPrediction(both), /contributions \(GMU gate/);
        const out = join(tempDir(), 'g.jsonl');
        await predictDataset(dir, tiny.dataDir, {
          out,
          split: 'test',
          cache: false,
          predictor: gmu,
          progress: false,
        });
        const rows = readPredictions(out).rows;
        assert.ok(
          rows.length > 0 && rows.every((x) => typeof x.gate === 'number' && x.gate >= 0 && x.gate <= 1),
        );
      } finally {
        gmu.dispose();
      }
    },
  );

  test('mmgenre predict: one movie as a table and as JSON; a dataset; clear errors', () => {
    const m = testMovie(0);
    const table = runCli(['predict', '--model', tiny.runDir, '--poster', m.poster, '--plot', m.plot]);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /predicted: /);
    assert.match(table.stdout, /inputs used: poster, plot/);
    const json = runCli([
      'predict',
      '--model',
      tiny.runDir,
      '--plot',
      m.plot,
      '--threshold',
      '0.5',
      '--json',
    ]);
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      scores: Record<string, number>;
      thresholds: { kind: string };
    };
    assert.equal(parsed.thresholds.kind, '0.5');
    assert.equal(Object.keys(parsed.scores).length, 23);
    const out = join(tempDir(), 'cli.jsonl');
    const ds = runCli([
      'predict',
      '--model',
      tiny.runDir,
      '--data',
      tiny.dataDir,
      '--out',
      out,
      '--no-cache',
    ]);
    assert.equal(ds.status, 0, ds.stderr);
    assert.match(ds.stdout, /predicted 18 movie\(s\)/);
    assert.equal(readPredictions(out).rows.length, 18);
    // Exit status by kind: 2 bad input, 4 not found (src/util/errors.ts).
    for (const [args, message, status] of [
      [['predict', '--model', tiny.runDir], /nothing to predict from/, 2],
      [['predict', '--model', tiny.runDir, '--plot', '?!?'], /no usable input/, 2],
      [['predict', '--model', tiny.dataDir, '--plot', 'x'], /not a finished mmgenre run/, 4],
    ] as const) {
      const r = runCli([...args]);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

function r2Count(dir: string): number {
  return readdirSync(join(dir, 'dataset')).filter((f) => f.endsWith('.json')).length;
}
