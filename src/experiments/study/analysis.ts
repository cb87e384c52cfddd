/**
 * The written analysis under the grid's table: which rows differ beyond noise, which fusion wins
 * where, the study's question "do we always need many features?", and why label-wise accuracy
 * says little. Every sentence is derived from the numbers passed in.
 *
 * Test: two rows are compared on the test movies both were scored on, through their
 * seed-averaged predictions: a paired bootstrap over movies of the macro ROC-AUC difference
 * (95% percentile interval), plus the sign of the difference seed by seed (paired by seed
 * number). "Beyond noise" = the interval excludes 0 and every seed agrees on the sign.
 */
import { pairedBootstrapF1 } from '../../eval/bootstrap.js';
import { pairedBootstrapMacroAuc } from './auc-bootstrap.js';
import { combinationLabel } from './combinations.js';
import { FUSION_NAMES, type GridFusion } from './published.js';
import type { GridCell, GridComparison, MissingPosterMode } from './types.js';

/** A cell's test predictions per seed (rows aligned with `ids`). */
export interface CellPredictions {
  key: string;
  ids: string[];
  bySeed: Map<number, Float32Array[]>;
}

export interface AnalyseInput {
  cells: GridCell[];
  predictions: Map<string, CellPredictions>;
  truth: Map<string, Uint8Array>;
  fusions: GridFusion[];
  missingPoster: MissingPosterMode;
  resamples: number;
  seed?: number;
}

const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '–');
const signed = (x: number): string => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(3);

export function cellName(c: GridCell): string {
  return c.fusion === null
    ? combinationLabel(c.combination)
    : `${combinationLabel(c.combination)} (${c.fusion})`;
}

const meanAuc = (c: GridCell): number => c.metrics.rocAucMacro?.mean ?? NaN;

/** Rows of `p` for `ids`, averaged over seeds. */
function seedMean(p: CellPredictions, ids: string[]): Float32Array[] {
  const index = new Map(p.ids.map((id, i) => [id, i]));
  const seeds = [...p.bySeed.values()];
  return ids.map((id) => {
    const i = index.get(id)!;
    const L = seeds[0][i].length;
    const row = new Float32Array(L);
    for (const s of seeds) for (let j = 0; j < L; j++) row[j] += s[i][j] / seeds.length;
    return row;
  });
}

function rowsFor(p: CellPredictions, probs: Float32Array[], ids: string[]): Float32Array[] {
  const index = new Map(p.ids.map((id, i) => [id, i]));
  return ids.map((id) => probs[index.get(id)!]);
}

/** Compare two cells on the test movies both were scored on. */
export function compareCells(
  kind: GridComparison['kind'],
  a: GridCell,
  b: GridCell,
  input: Pick<AnalyseInput, 'predictions' | 'truth' | 'resamples' | 'seed'>,
): GridComparison | null {
  const pa = input.predictions.get(a.key);
  const pb = input.predictions.get(b.key);
  if (!pa || !pb || pa.bySeed.size === 0 || pb.bySeed.size === 0) return null;
  const inB = new Set(pb.ids);
  const ids = pa.ids.filter((id) => inB.has(id));
  if (ids.length < 2) return null;
  const yTrue = ids.map((id) => input.truth.get(id)!);
  const ma = seedMean(pa, ids);
  const mb = seedMean(pb, ids);
  const opts = { resamples: input.resamples, seed: input.seed ?? 42 };
  const auc = pairedBootstrapMacroAuc(yTrue, ma, mb, opts);
  const f1 = pairedBootstrapF1(yTrue, ma, mb, { ...opts, threshold: 0.5 });
  const shared = [...pa.bySeed.keys()].filter((s) => pb.bySeed.has(s));
  let agree = 0;
  for (const s of shared) {
    const d = pairedBootstrapMacroAuc(
      yTrue,
      rowsFor(pa, pa.bySeed.get(s)!, ids),
      rowsFor(pb, pb.bySeed.get(s)!, ids),
      { resamples: 0 },
    ).estimate;
    if (Math.sign(d) === Math.sign(auc.estimate) && d !== 0) agree++;
  }
  const excludesZero = auc.low > 0 || auc.high < 0;
  return {
    kind,
    a: a.key,
    b: b.key,
    n: ids.length,
    auc: { a: auc.a, b: auc.b, diff: auc.estimate, low: auc.low, high: auc.high, pValue: auc.pValue },
    f1Macro: {
      a: f1.a.macro,
      b: f1.b.macro,
      diff: f1.difference.macro.estimate,
      low: f1.difference.macro.low,
      high: f1.difference.macro.high,
      pValue: f1.difference.macro.pValue,
    },
    seedsAgree: agree,
    seeds: shared.length,
    beyondNoise: excludesZero && (shared.length < 2 || agree === shared.length),
  };
}

function describe(c: GridComparison, names: Map<string, string>): string {
  return (
    `${names.get(c.b)}: Δ AUC ${signed(-c.auc.diff)} [${signed(-c.auc.high)}, ${signed(-c.auc.low)}], ` +
    `seeds agreeing ${c.seedsAgree}/${c.seeds}, Δ macro-F1 ${signed(-c.f1Macro.diff)}, n=${c.n}`
  );
}

/** The comparisons and the text. */
export function analyseGrid(input: AnalyseInput): { comparisons: GridComparison[]; analysis: string[] } {
  const { cells } = input;
  const names = new Map(cells.map((c) => [c.key, cellName(c)]));
  const scored = cells.filter((c) => Number.isFinite(meanAuc(c)));
  const comparisons: GridComparison[] = [];
  const lines: string[] = [];
  const seedCount = Math.max(0, ...scored.map((c) => c.seeds.length));
  lines.push(
    `How rows are compared: on the test movies both rows were scored on, the seed-averaged predictions go through a ` +
      `paired bootstrap over movies (${input.resamples} resamples) of the macro ROC-AUC difference; a difference is ` +
      `"beyond noise" when its 95% interval excludes 0 and every seed (paired by seed number) has the same sign. ` +
      `Δ below = row − best row (negative: worse), with its 95% interval.`,
  );
  if (scored.length === 0) {
    lines.push('No row finished training: nothing to compare.');
    return { comparisons, analysis: lines };
  }
  if (seedCount < 2)
    lines.push(
      'Only one seed: seed noise cannot be measured; the bootstrap covers the choice of test movies only.',
    );

  // 1. Within each fusion and each group of rows tested on the same movies: every row against
  // the group's best. Rows on other movies ('drop': text-only rows keep the movies without a
  // poster) form their own group, then the two groups' best rows are compared on shared movies.
  const groupOf = (c: GridCell): string => testSetKey(input.predictions.get(c.key));
  const bests = new Map<GridFusion, GridCell[]>();
  for (const fusion of input.fusions) {
    const rows = scored.filter((c) => c.fusion === fusion || c.fusion === null);
    const groups = [...new Set(rows.map(groupOf))].map((g) => rows.filter((c) => groupOf(c) === g));
    groups.sort((a, b) => b.length - a.length);
    const groupBests: GridCell[] = [];
    for (const group of groups) {
      const best = group.reduce((a, b) => (meanAuc(b) > meanAuc(a) ? b : a));
      groupBests.push(best);
      if (group.length < 2) continue;
      const worse: string[] = [];
      const tied: string[] = [];
      for (const other of group) {
        if (other === best) continue;
        const cmp = compareCells('vs-best', best, other, input);
        if (!cmp) continue;
        comparisons.push(cmp);
        (cmp.beyondNoise ? worse : tied).push(describe(cmp, names));
      }
      lines.push(
        `With ${FUSION_NAMES[fusion]}${groups.length > 1 ? `, among the rows trained on ${trainSizes(group)} movies` : ''}, ` +
          `the best row by mean macro ROC-AUC is ${names.get(best.key)} (${f3(meanAuc(best))}). ` +
          (worse.length
            ? `Below it beyond noise: ${worse.join('; ')}. `
            : 'No row is below it beyond noise. ') +
          (tied.length ? `Not separable from it: ${tied.join('; ')}.` : ''),
      );
    }
    bests.set(fusion, groupBests);
    if (groupBests.length > 1) {
      const [a, b] = [...groupBests].sort((x, y) => meanAuc(y) - meanAuc(x));
      const cmp = compareCells('vs-best', a, b, input);
      if (cmp) {
        comparisons.push(cmp);
        lines.push(
          `Across training sets (${FUSION_NAMES[fusion]}), relative to ${names.get(a.key)} (trained on ${trainSizes([a])} movies): ` +
            describe(cmp, names) +
            (cmp.beyondNoise ? ' — beyond noise.' : ' — within noise.'),
        );
      }
    }
  }

  // 2. Fusion against fusion, row by row: every pair of fusions, the same paired test as above.
  for (const [k, f1] of input.fusions.entries()) {
    for (const f2 of input.fusions.slice(k + 1)) {
      const line = compareFusions(f1, f2, scored, input, comparisons);
      if (line) lines.push(line);
    }
  }

  // 3. The study's question.
  lines.push(manyFeaturesAnswer(scored, input, comparisons, names, groupOf));

  // 4. Label-wise accuracy versus predicting nothing.
  const below = scored.filter(
    (c) =>
      c.allNegativeAccuracy !== undefined && (c.metrics.labelwiseAccuracy?.mean ?? 0) < c.allNegativeAccuracy,
  );
  const negs = [
    ...new Set(scored.map((c) => c.allNegativeAccuracy).filter((x) => x !== undefined)),
  ] as number[];
  const negText =
    negs.length === 1
      ? f3(negs[0])
      : `${f3(Math.min(...negs))}–${f3(Math.max(...negs))} depending on the row's test movies`;
  lines.push(
    `Label-wise accuracy is dominated by negatives: predicting no genre at all scores ${negText} ` +
      `(the study's 0.80–0.86 are below that level on a label set of this kind). ` +
      `${below.length} of ${scored.length} rows score below the all-negative baseline here, since class-weighted ` +
      `training trades negatives for recall; read macro ROC-AUC and macro-F1 instead.`,
  );
  const posterRows = scored.filter((c) => c.combination.includes('poster'));
  const otherRows = scored.filter((c) => !c.combination.includes('poster'));
  if (input.missingPoster === 'drop' && posterRows.length && otherRows.length) {
    const trainOf = (cs: GridCell[]): string =>
      [...new Set(cs.map((c) => c.sizes?.train).filter((n) => n !== undefined))].join('/');
    lines.push(
      `Movies without a poster are dropped from poster rows only: those train on ${trainOf(posterRows)} movies, ` +
        `the rows without a poster on ${trainOf(otherRows)}. Comparisons between them use the test movies with a ` +
        `poster, but the gap mixes the features' effect with that of the training-set size; ` +
        `--missing-poster mask trains every row on the same movies.`,
    );
  }
  return { comparisons, analysis: lines };
}

/** One fusion against another on every row both trained; the sentence, or null when none. */
function compareFusions(
  f1: GridFusion,
  f2: GridFusion,
  scored: GridCell[],
  input: AnalyseInput,
  comparisons: GridComparison[],
): string | null {
  const parts: string[] = [];
  let wins1 = 0;
  let wins2 = 0;
  for (const a of scored.filter((c) => c.fusion === f1)) {
    const b = scored.find((c) => c.fusion === f2 && c.label === a.label);
    if (!b) continue;
    const cmp = compareCells('fusion', a, b, input);
    if (!cmp) continue;
    comparisons.push(cmp);
    const winner = cmp.auc.diff >= 0 ? f1 : f2;
    if (cmp.beyondNoise) {
      if (winner === f1) wins1++;
      else wins2++;
    }
    parts.push(
      `${a.label}: ${winner} by ${Math.abs(cmp.auc.diff).toFixed(3)} AUC` +
        ` [${signed(cmp.auc.low)}, ${signed(cmp.auc.high)} as ${f1} − ${f2}]` +
        (cmp.beyondNoise ? ' (beyond noise)' : ' (within noise)'),
    );
  }
  if (parts.length === 0) return null;
  return (
    `${FUSION_NAMES[f1]} vs ${FUSION_NAMES[f2]}: ${parts.join('; ')}. ` +
    (wins1 + wins2 === 0
      ? `Neither fusion wins beyond noise on any row.`
      : `Beyond noise, ${f1} wins ${wins1} row(s) and ${f2} ${wins2}.`)
  );
}

function manyFeaturesAnswer(
  scored: GridCell[],
  input: AnalyseInput,
  comparisons: GridComparison[],
  names: Map<string, string>,
  groupOf: (c: GridCell) => string,
): string {
  const maxSize = Math.max(...scored.map((c) => c.combination.length));
  if (maxSize === 1)
    return 'Do we always need many features? Only single features were trained: this grid cannot say.';
  const parts: string[] = [];
  let helped = 0;
  let hurtOrTied = 0;
  for (const fusion of input.fusions) {
    const big = scored.find((c) => c.fusion === fusion && c.combination.length === maxSize);
    if (!big) continue;
    // Only rows trained and tested on the same movies answer "do more features help?".
    const same = scored.filter(
      (c) => (c.fusion === fusion || c.fusion === null) && groupOf(c) === groupOf(big),
    );
    const rivals = same.filter((c) => c !== big);
    if (rivals.length === 0) continue;
    const rival = rivals.reduce((a, b) => (meanAuc(b) > meanAuc(a) ? b : a));
    const cmp = compareCells('vs-best', big, rival, input);
    if (!cmp) continue;
    if (!comparisons.some((c) => c.a === cmp.a && c.b === cmp.b)) comparisons.push(cmp);
    const better = cmp.auc.diff > 0;
    if (better && cmp.beyondNoise) helped++;
    else hurtOrTied++;
    parts.push(
      `with ${FUSION_NAMES[fusion]}, the ${maxSize}-feature row (${f3(meanAuc(big))}) is ${better ? 'above' : 'below'} ` +
        `the best smaller row on the same movies, ${names.get(rival.key)} (${f3(meanAuc(rival))}), by ` +
        `${Math.abs(cmp.auc.diff).toFixed(3)} AUC [${signed(cmp.auc.low)}, ${signed(cmp.auc.high)}], ` +
        `${cmp.beyondNoise ? 'beyond noise' : 'within noise'}`,
    );
  }
  const overall = scored.reduce((a, b) => (meanAuc(b) > meanAuc(a) ? b : a));
  const verdict =
    parts.length === 0
      ? 'No row with fewer features was trained on the same movies as the largest one: this grid cannot say.'
      : helped > 0 && hurtOrTied === 0
        ? 'On these movies the largest combination was the best, beyond noise, with every fusion; yet see which single feature carries it.'
        : helped > 0
          ? 'Not always: more features helped beyond noise with one fusion and not with another.'
          : 'No: the largest combination is not better, beyond noise, than a smaller one on the same movies.';
  const bestNote =
    overall.combination.length < maxSize
      ? ` The best row of the whole grid, ${names.get(overall.key)} (${f3(meanAuc(overall))}), uses ${overall.combination.length} feature(s)` +
        (groupOf(overall) !== groupOf(scored.find((c) => c.combination.length === maxSize)!)
          ? ` and ${trainSizes([overall])} training movies: more movies did more than more features.`
          : '.')
      : '';
  return `Do we always need many features? ${verdict} In detail: ${parts.join('; ')}.${bestNote}`;
}

/** Identity of a cell's test set (rows compared on the same movies share it). */
function testSetKey(p: CellPredictions | undefined): string {
  if (!p) return '';
  return `${p.ids.length}:${[...p.ids].sort().join(',')}`;
}

function trainSizes(cells: GridCell[]): string {
  return [...new Set(cells.map((c) => c.sizes?.train).filter((n) => n !== undefined))].join('/') || '?';
}
