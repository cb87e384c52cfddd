/**
 * Which per-genre threshold policy to ship, measured without the test split: for each run, the
 * dev movies are cut in two at random (many times); each policy tunes on one half and is scored
 * on the other, beside the fixed 0.5 on the same half. A policy worth shipping must not lose to
 * 0.5 there on average, and must not predict a genre for far more movies than carry it.
 *
 *   npx tsx scripts/threshold-policy.ts --data DIR [--splits 200] [--json out.json] RUN...
 *
 * Reads each run's predictions-dev.jsonl; never reads test predictions.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { multiHot } from '../src/data/genres.js';
import { loadDataset } from '../src/data/load.js';
import { createRng } from '../src/util/random.js';
import { evaluate } from '../src/eval/metrics.js';
import { readPredictions } from '../src/eval/predictions.js';
import { tuneThresholds, type TuneOptions } from '../src/eval/thresholds.js';

const POLICIES: Record<string, TuneOptions | 'fixed'> = {
  '0.5': 'fixed',
  raw: {},
  'min 5': { minPositives: 5 },
  'min 10': { minPositives: 10 },
  'min 20': { minPositives: 20 },
  'shrink 5': { shrink: 5 },
  'shrink 10': { shrink: 10 },
  'shrink 20': { shrink: 20 },
  'min 5 + shrink 10': { minPositives: 5, shrink: 10 },
  'min 10 + shrink 10': { minPositives: 10, shrink: 10 },
  'min 10 + shrink 20': { minPositives: 10, shrink: 20 },
  'min 20 + shrink 10': { minPositives: 20, shrink: 10 },
  'min 20 + shrink 20': { minPositives: 20, shrink: 20 },
  'min 30': { minPositives: 30 },
};

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string' }, splits: { type: 'string', default: '200' }, json: { type: 'string' } },
});
if (!values.data || positionals.length === 0) {
  console.error('usage: threshold-policy.ts --data DIR [--splits N] [--json FILE] RUN...');
  process.exit(2);
}
const dataset = await loadDataset(values.data, { progress: false });
const labels = dataset.labels;
const byId = new Map(dataset.records.map((r) => [r.id, r]));
const splits = Number(values.splits);

interface Tally {
  macro: number[];
  micro: number[];
  /** Per split: the largest predicted/true count ratio over genres with a true movie in the half. */
  worstRatio: number[];
  /** Per split: genres predicted for more than 3× their true count (+1 for genres absent in the half). */
  over3x: number[];
}
const tallies = new Map<string, Tally>(
  Object.keys(POLICIES).map((p) => [p, { macro: [], micro: [], worstRatio: [], over3x: [] }]),
);

for (const run of positionals) {
  const preds = readPredictions(join(run, 'predictions-dev.jsonl'), labels);
  const rows = preds.rows.filter((r) => byId.has(r.id));
  const truth = rows.map((r) => multiHot(byId.get(r.id)!.genres, labels));
  const probs = rows.map((r) => Float32Array.from(labels, (l) => r.scores[l]));
  const rng = createRng(7);
  for (let s = 0; s < splits; s++) {
    const order = rng.shuffle(rows.map((_, i) => i));
    const half = Math.floor(order.length / 2);
    const tuneIdx = order.slice(0, half);
    const testIdx = order.slice(half);
    const pick = <T>(xs: T[], idx: number[]): T[] => idx.map((i) => xs[i]);
    for (const [name, policy] of Object.entries(POLICIES)) {
      const thr =
        policy === 'fixed'
          ? 0.5
          : tuneThresholds(pick(truth, tuneIdx), pick(probs, tuneIdx), policy as TuneOptions);
      const yT = pick(truth, testIdx);
      const yP = pick(probs, testIdx);
      const m = evaluate(yT, yP, labels, { threshold: thr });
      const t = tallies.get(name)!;
      t.macro.push(m.f1.macro);
      t.micro.push(m.f1.micro);
      let worst = 0;
      let over = 0;
      labels.forEach((_, j) => {
        const cut = typeof thr === 'number' ? thr : thr[j];
        const predicted = yP.filter((p) => p[j] > cut).length;
        const actual = yT.filter((y) => y[j] === 1).length;
        if (predicted > 3 * Math.max(actual, 1)) over++;
        if (actual > 0) worst = Math.max(worst, predicted / actual);
      });
      t.worstRatio.push(worst);
      t.over3x.push(over);
    }
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const base = tallies.get('0.5')!;
const table = [...tallies].map(([name, t]) => {
  const dMacro = t.macro.map((v, i) => v - base.macro[i]);
  const dMicro = t.micro.map((v, i) => v - base.micro[i]);
  return {
    policy: name,
    macro: mean(t.macro),
    micro: mean(t.micro),
    dMacro: mean(dMacro),
    dMicro: mean(dMicro),
    macroNotWorse: dMacro.filter((d) => d >= 0).length / dMacro.length,
    microNotWorse: dMicro.filter((d) => d >= 0).length / dMicro.length,
    worstRatio: mean(t.worstRatio),
    over3x: mean(t.over3x),
  };
});
const f = (x: number, d = 3): string => x.toFixed(d);
console.log(
  `${positionals.length} runs × ${splits} random halves of dev (tune on one half, score on the other)\n`,
);
console.log(
  'policy               macro   micro   Δmacro  Δmicro  macro≥0.5  micro≥0.5  worst pred/true  genres >3×',
);
for (const r of table)
  console.log(
    `${r.policy.padEnd(20)} ${f(r.macro)}   ${f(r.micro)}   ${(r.dMacro >= 0 ? '+' : '') + f(r.dMacro)}  ${(r.dMicro >= 0 ? '+' : '') + f(r.dMicro)}  ${f(r.macroNotWorse * 100, 0).padStart(7)}%  ${f(r.microNotWorse * 100, 0).padStart(8)}%  ${f(r.worstRatio, 2).padStart(15)}  ${f(r.over3x, 2).padStart(10)}`,
  );
if (values.json)
  writeFileSync(values.json, JSON.stringify({ runs: positionals, splits, table }, null, 2) + '\n');
