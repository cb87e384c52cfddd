import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../helpers/shared.js';
import {
  defaultRunAllConfigs,
  formatPairedTable,
  perSeedDifferences,
  type RunAllEntry,
  type RunAllSummary,
} from '../../src/experiments/run-all.js';
import { shippedConfigNames } from '../../src/runs/config.js';

test(
  'run-all on a small synthetic dataset: unimodal + fusions in workers, table, removed-modality scores',
  { timeout: 600_000 },
  () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const runs = join(dir, 'runs');
    const synth = runCli([
      'data',
      'synth',
      '--out',
      data,
      '--n',
      '60',
      '--seed',
      '3',
      '--labels',
      'Drama,Comedy,Horror,Romance',
    ]);
    assert.equal(synth.status, 0, synth.stderr);
    const r = runCli(
      [
        'run-all',
        '--data',
        data,
        '--out',
        runs,
        '--configs',
        'poster-frozen,text-mlp-meanglove,text-mlp2-meanglove,fusion-gmu,fusion-concat,fusion-late-average',
        '--workers',
        '2',
        '--epochs',
        '3',
      ],
      { timeoutMs: 590_000 },
    );
    assert.equal(r.status, 0, r.stderr + r.stdout);
    for (const name of [
      'poster-frozen',
      'text-mlp-meanglove',
      'text-mlp2-meanglove',
      'fusion-gmu',
      'fusion-concat',
      'fusion-late-average',
    ]) {
      assert.match(r.stdout, new RegExp(`\\b${name}\\b`), `${name} in the table`);
      assert.ok(existsSync(join(runs, name, 'test-eval.json')), `${name}: test-eval.json`);
    }
    assert.match(r.stdout, /different test set|DIFFERENT test set/i);
    assert.match(r.stdout, /no poster/);
    const summary = JSON.parse(readFileSync(join(runs, 'summary.json'), 'utf8')) as RunAllSummary;
    assert.ok(existsSync(join(runs, 'summary.md')));
    const multimodal = summary.entries.filter((e) => e.kind === 'multimodal');
    assert.equal(multimodal.length, 3);
    for (const e of multimodal) {
      assert.ok(e.ok && e.removed, `${e.config}: removed-modality scores`);
      for (const v of [e.removed!.full, e.removed!.noPoster, e.removed!.noPlot])
        assert.ok(v.at05.macro >= 0 && v.at05.macro <= 1);
    }
    // The GMU against every other config, paired on the same test movies.
    assert.match(r.stdout, /GMU against the others/);
    const vsConcat = summary.paired!.find((p) => p.a === 'fusion-gmu' && p.b === 'fusion-concat')!;
    assert.ok(vsConcat, 'a GMU − concatenation row');
    assert.equal(summary.paired!.length, 5, 'the GMU against the five other configs');
    assert.ok(Math.abs(vsConcat.difference - (vsConcat.aMacro - vsConcat.bMacro)) < 1e-9);
    assert.ok(vsConcat.low <= vsConcat.difference && vsConcat.difference <= vsConcat.high);
    // The GMU's test predictions carry the gate and the inputs used.
    const first = JSON.parse(
      readFileSync(join(runs, 'fusion-gmu', 'predictions-test.jsonl'), 'utf8').split('\n')[0],
    ) as { gate: number; inputs: string[] };
    assert.ok(first.gate >= 0 && first.gate <= 1);
    assert.ok(first.inputs.length >= 1);
    // Late fusion reused the unimodal runs trained beside it (no second training of them).
    const late = JSON.parse(readFileSync(join(runs, 'fusion-late-average', 'late.json'), 'utf8')) as {
      experts: Record<string, string>;
    };
    assert.equal(late.experts.poster, join(runs, 'poster-frozen'));
  },
);

test('run-all trains every shipped config by default: a config with several inputs of one modality is unimodal', () => {
  const names = defaultRunAllConfigs();
  // poster-frozen reads two poster layers, text-tfidf word and character n-grams and the mean vector.
  for (const name of ['poster-frozen', 'text-tfidf', 'text-gru', 'fusion-gmu', 'fusion-late-average'])
    assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
  // The paper-* configs read an MM-IMDB HDF5 file's own features: run with `--configs paper`.
  const expected = shippedConfigNames().filter((n) => !n.startsWith('paper-'));
  assert.deepEqual([...names].sort(), expected.sort());
});

test('per-seed differences pair the runs of one seed and the paired table counts the wins', () => {
  const entry = (config: string, seed: number, macro: number): RunAllEntry => ({
    config,
    seed,
    dir: `/runs/seed-${seed - 42}/${config}`,
    kind: 'multimodal',
    ok: true,
    test: { at05: { macro, micro: 0 }, tuned: { macro, micro: 0 } },
  });
  const entries = [
    entry('fusion-gmu', 43, 0.45),
    entry('fusion-gmu', 42, 0.44),
    entry('fusion-gmu', 44, 0.4),
    entry('fusion-concat', 42, 0.43),
    entry('fusion-concat', 43, 0.46),
    entry('fusion-concat', 44, 0.38),
    { ...entry('fusion-concat', 45, 0.5), ok: false, test: undefined },
  ];
  const d = perSeedDifferences(entries, 'fusion-gmu', 'fusion-concat');
  assert.deepEqual(
    d.map((x) => Number(x.toFixed(6))),
    [0.01, -0.01, 0.02],
  );
  const summary = {
    seeds: 3,
    paired: [
      {
        a: 'fusion-gmu',
        b: 'fusion-concat',
        runs: 3,
        aMacro: 0.45,
        bMacro: 0.44,
        difference: 0.01,
        low: -0.01,
        high: 0.03,
        pValue: 0.3,
        perSeed: d,
      },
    ],
  } as unknown as RunAllSummary;
  const table = formatPairedTable(summary);
  assert.match(table, /per seed\s+wins/);
  assert.match(table, /\+0\.010 -0\.010 \+0\.020\s+2\/3/);
});
