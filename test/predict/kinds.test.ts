import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import type { MovieRecord } from '../../src/data/types.js';
import { readPredictions } from '../../src/eval/predictions.js';
import { loadPredictor, predictDataset, PredictorError, type PredictInput } from '../../src/predict/index.js';
import { startServer } from '../../src/serve/index.js';
import { runCli, tempDir } from '../helpers/shared.js';
import { trainEveryKind, type KindRuns, type RunKind } from './kinds-fixture.js';

let fx: KindRuns;
let testRecords: MovieRecord[];

const TOL = 1e-5;

function saved(run: string): Map<string, Record<string, number>> {
  return new Map(readPredictions(join(run, 'predictions-test.jsonl')).rows.map((r) => [r.id, r.scores]));
}

function maxDiff(a: Record<string, number>, b: Record<string, number>): number {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  return Math.max(...Object.keys(a).map((k) => Math.abs(a[k] - b[k])));
}

const rawInput = (r: MovieRecord): PredictInput => ({
  poster: r.posterPath ?? undefined,
  plot: r.plot ?? undefined,
  title: r.title,
});

describe('every run kind predicts from raw inputs as it was trained', { timeout: 300_000 }, () => {
  before(async () => {
    fx = await trainEveryKind();
    const dataset = await loadDataset(fx.dataDir, { progress: false });
    const ids = new Set(dataset.splits.test);
    testRecords = dataset.records.filter((r) => ids.has(r.id));
  });

  const kinds: RunKind[] = ['gru', 'lstm', 'tfidf', 'finetune', 'moe', 'late'];
  for (const kind of kinds) {
    test(`${kind}: scores from posters and plots equal the trainer's test predictions`, async () => {
      const expected = saved(fx.runs[kind]);
      const predictor = await loadPredictor(fx.runs[kind]);
      try {
        const settled = await predictor.predictSettled(testRecords.map(rawInput), { threshold: '0.5' });
        let compared = 0;
        settled.forEach((p, i) => {
          if (p instanceof Error) return; // no usable input: the trainer scored zeros, predict refuses
          const want = expected.get(testRecords[i].id);
          assert.ok(want, `${testRecords[i].id} is in predictions-test.jsonl`);
          const d = maxDiff(p.scores, want);
          assert.ok(d <= TOL, `${kind} ${testRecords[i].id}: max |Δ| = ${d}`);
          compared++;
        });
        assert.ok(compared >= testRecords.length * 0.8, `${compared} of ${testRecords.length} compared`);
        // One movie alone (its own padding, its own batch) gives the same scores.
        const k = settled.findIndex((p) => !(p instanceof Error));
        const [alone] = await predictor.predict([rawInput(testRecords[k])]);
        assert.ok(maxDiff(alone.scores, expected.get(testRecords[k].id)!) <= TOL);
      } finally {
        predictor.dispose();
      }
    });
  }

  test('sequence and late runs: predictDataset (cached and direct) writes the trainer scores', async () => {
    for (const kind of ['lstm', 'late'] as const) {
      const expected = saved(fx.runs[kind]);
      for (const cache of [true, false]) {
        const out = join(tempDir('mmgenre-predict-kinds-out-'), 'preds.jsonl');
        const r = await predictDataset(fx.runs[kind], fx.dataDir, { out, cache, progress: false });
        assert.ok(r.rows > 0);
        const rows = readPredictions(out).rows;
        assert.equal(rows.length, r.rows);
        for (const row of rows) {
          const d = maxDiff(row.scores, expected.get(row.id)!);
          assert.ok(d <= TOL, `${kind} cache=${cache} ${row.id}: ${d}`);
        }
      }
    }
  });

  test('a sequence model reads only the plot; an unknown-word plot is a clear missing input', async () => {
    const predictor = await loadPredictor(fx.runs.gru);
    try {
      assert.deepEqual(
        predictor.inputs.map((i) => [i.id, i.kind, i.dim]),
        [['plot', 'sequence', 40]],
      );
      const [p] = await predictor.predict([
        { plot: testRecords[0].plot!, poster: testRecords[0].posterPath! },
      ]);
      assert.deepEqual(p.inputsUsed, ['plot']);
      assert.deepEqual(p.inputsIgnored, ['poster']);
      await assert.rejects(predictor.predict([{ plot: 'zzqxv wqpfk' }]), /no known word/);
    } finally {
      predictor.dispose();
    }
  });

  test('a late fusion with one expert input missing uses the other expert alone', async () => {
    const late = await loadPredictor(fx.runs.late);
    const plotExpert = await loadPredictor(join(fx.runsDir, 'plot-expert'));
    try {
      const r = testRecords.find((x) => x.plot)!;
      const [both] = await late.predict([{ plot: r.plot! }]);
      const [alone] = await plotExpert.predict([{ plot: r.plot! }]);
      assert.deepEqual(both.inputsUsed, ['plot']);
      assert.ok(maxDiff(both.scores, alone.scores) <= 1e-6);
      assert.equal(late.run, null);
    } finally {
      late.dispose();
      plotExpert.dispose();
    }
  });

  test('a late fusion whose expert is gone is a PredictorError naming it', async () => {
    const { cpSync, rmSync, readFileSync, writeFileSync } = await import('node:fs');
    const copy = join(tempDir('mmgenre-predict-kinds-late-'), 'late');
    cpSync(fx.runs.late, copy, { recursive: true });
    const file = join(copy, 'late.json');
    const late = JSON.parse(readFileSync(file, 'utf8')) as { experts: Record<string, string> };
    late.experts.plot = join(copy, '..', 'no-such-expert');
    writeFileSync(file, JSON.stringify(late));
    await assert.rejects(
      loadPredictor(copy),
      (err: unknown) => err instanceof PredictorError && /no-such-expert/.test(err.message),
    );
    rmSync(copy, { recursive: true, force: true });
  });

  test('mmgenre predict on a late fusion: the experts combined, as JSON', () => {
    const expected = saved(fx.runs.late);
    const r = testRecords.find((x) => x.plot && x.posterPath && expected.has(x.id))!;
    const cli = runCli([
      'predict',
      '--model',
      fx.runs.late,
      '--poster',
      r.posterPath!,
      '--plot',
      r.plot!,
      '--json',
    ]);
    assert.equal(cli.status, 0, cli.stderr);
    const p = JSON.parse(cli.stdout) as { scores: Record<string, number>; inputsUsed: string[] };
    // The poster expert's two inputs, named under the late run's input they serve.
    assert.deepEqual(p.inputsUsed, ['poster.poster', 'poster.poster_mid', 'plot']);
    assert.ok(maxDiff(p.scores, expected.get(r.id)!) <= TOL);
  });

  test('mmgenre predict on a GMU over two poster inputs: shares and per-genre parts by modality', () => {
    const expected = saved(fx.runs.gmu3);
    const r = testRecords.find((x) => x.plot && x.posterPath && expected.has(x.id))!;
    const args = ['predict', '--model', fx.runs.gmu3, '--poster', r.posterPath!, '--plot', r.plot!];
    const cli = runCli([...args, '--json']);
    assert.equal(cli.status, 0, cli.stderr);
    const p = JSON.parse(cli.stdout) as {
      scores: Record<string, number>;
      contributions: Record<string, number>;
      genreContributions: Record<string, Record<string, number>>;
    };
    assert.ok(maxDiff(p.scores, expected.get(r.id)!) <= TOL);
    // The two poster inputs count as one modality: their shares (and logit parts) are summed.
    assert.deepEqual(Object.keys(p.contributions), ['poster', 'plot']);
    assert.ok(Math.abs(p.contributions.poster + p.contributions.plot - 1) < 1e-5);
    for (const parts of Object.values(p.genreContributions))
      assert.deepEqual(Object.keys(parts), ['poster', 'plot']);
    const text = runCli(args);
    assert.equal(text.status, 0, text.stderr);
    const header = text.stdout.split('\n').find((l) => l.includes('poster share'))!;
    const row = text.stdout.split('\n')[text.stdout.split('\n').indexOf(header) + 1];
    // Columns line up: each share ends where its header ends.
    assert.equal(row.length, header.length, `${header}\n${row}`);
  });

  test('serve: /api/predict on a GRU run, and on a late fusion by ?run=, gives the trainer scores', async () => {
    const server = await startServer({ model: fx.runs.gru, runsDir: fx.runsDir, port: 0, host: '127.0.0.1' });
    try {
      for (const [kind, query] of [
        ['gru', ''],
        ['late', '?run=late'],
      ] as const) {
        const expected = saved(fx.runs[kind]);
        const r = testRecords.find((x) => x.plot && x.posterPath && expected.has(x.id))!;
        const res = await fetch(`${server.url}/api/predict${query}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ plot: r.plot }),
        });
        const body = (await res.json()) as { scores: Record<string, number>; inputsUsed: string[] };
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.deepEqual(body.inputsUsed, ['plot']);
        if (kind === 'gru') assert.ok(maxDiff(body.scores, expected.get(r.id)!) <= TOL);
        else {
          // Plot only: the late fusion is its plot expert alone.
          const expert = saved(join(fx.runsDir, 'plot-expert')).get(r.id)!;
          assert.ok(maxDiff(body.scores, expert) <= TOL);
        }
      }
    } finally {
      await server.close();
    }
  });
});
