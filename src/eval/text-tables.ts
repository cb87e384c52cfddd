/** Plain-text tables for `eval` and `compare` (padding only, so no table library is needed). */
import type { ConfidenceInterval } from './bootstrap.js';
import type { MultilabelMetrics } from './metrics.js';
import type { EvalVariant, RunEvalFile } from './run-eval.js';
import type { PredictionsEvalReport } from './evaluate-predictions.js';

export function renderTable(headers: string[], rows: string[][], rightAligned: boolean[] = []): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function fmt(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(digits);
}

function ci(c: ConfidenceInterval | undefined): string {
  return c ? `[${fmt(c.low)}, ${fmt(c.high)}]` : '';
}

export function variantTitle(v: EvalVariant): string {
  if (v.kind === 'tuned') return `tuned (${v.tunedOn ?? 'dev'})`;
  const t = v.metrics.threshold;
  return `threshold ${typeof t === 'number' ? t : 'per-genre'}`;
}

type Getter = (m: MultilabelMetrics) => number | null;

/** The headline table: every metric, one column per variant (0.5 first), with bootstrap CIs when computed. */
export function formatHeadline(report: RunEvalFile): string {
  const vs = report.variants;
  const anyCi = vs.some((v) => v.bootstrap);
  const rows: Array<[string, Getter, ((v: EvalVariant) => ConfidenceInterval | undefined)?]> = [];
  for (const avg of ['micro', 'macro', 'weighted', 'samples'] as const) {
    rows.push([`F1 ${avg}`, (m) => m.f1[avg], (v) => v.bootstrap?.f1[avg]]);
  }
  for (const avg of ['micro', 'macro', 'weighted', 'samples'] as const)
    rows.push([`Precision ${avg}`, (m) => m.precision[avg]]);
  for (const avg of ['micro', 'macro', 'weighted', 'samples'] as const)
    rows.push([`Recall ${avg}`, (m) => m.recall[avg]]);
  rows.push(['ROC-AUC micro', (m) => m.rocAuc.micro], ['ROC-AUC macro', (m) => m.rocAuc.macro]);
  rows.push(
    ['Average precision micro', (m) => m.averagePrecision.micro],
    ['Average precision macro', (m) => m.averagePrecision.macro],
  );
  rows.push(['Hamming loss', (m) => m.hammingLoss], ['Subset accuracy', (m) => m.subsetAccuracy]);
  rows.push(['Label-wise accuracy *', (m) => m.labelwiseAccuracy]);
  const headers = ['metric'];
  for (const v of vs) {
    headers.push(variantTitle(v));
    if (anyCi) headers.push(`${Math.round((v.bootstrap?.confidence ?? 0.95) * 100)}% CI`);
  }
  const body = rows.map(([name, get, getCi]) => {
    const r = [name];
    for (const v of vs) {
      r.push(fmt(get(v.metrics)));
      if (anyCi) r.push(getCi ? ci(getCi(v)) : '');
    }
    return r;
  });
  const out = [renderTable(headers, body, [false, ...headers.slice(1).map(() => true)])];
  const m0 = vs[0].metrics;
  if (m0.rocAuc.labelsLeftOut.length > 0) {
    out.push(
      `ROC-AUC/AP macro over ${m0.rocAuc.labelsUsed.length} genres; left out (one class only here): ${m0.rocAuc.labelsLeftOut.join(', ')}`,
    );
  }
  out.push(
    `* Label-wise accuracy is dominated by negatives: most genres are absent from most movies, so predicting ` +
      `no genre at all scores about 0.89 on MM-IMDB; on these ${report.n} movies it scores ${fmt(report.allNegative.labelwiseAccuracy)} ` +
      `(Hamming loss ${fmt(report.allNegative.hammingLoss)}). Compare F1, not this, with "accuracy" figures from other studies.`,
  );
  const boot = vs.find((v) => v.bootstrap)?.bootstrap;
  if (boot)
    out.push(`CIs: percentile bootstrap over movies, ${boot.resamples} resamples, seed ${boot.seed}.`);
  if (vs.some((v) => v.kind === 'tuned')) {
    out.push("Tuned thresholds were chosen on the dev split; the 0.5 column is the paper's protocol.");
  }
  return out.join('\n');
}

/** One row per genre: support, P, R, F1, ROC-AUC, AP at 0.5, and F1 + threshold of every other variant. */
export function formatPerGenre(report: RunEvalFile): string {
  const base = report.variants[0];
  const others = report.variants.slice(1);
  const headers = ['genre', 'support', 'P', 'R', 'F1', 'ROC-AUC', 'AP'];
  for (const v of others) headers.push(`F1 ${variantTitle(v)}`, 'thr');
  const rows = base.metrics.perLabel.map((p, j) => {
    const r = [
      p.label,
      String(p.support),
      fmt(p.precision),
      fmt(p.recall),
      fmt(p.f1),
      fmt(p.rocAuc),
      fmt(p.averagePrecision),
    ];
    for (const v of others) {
      const t = v.metrics.threshold;
      r.push(fmt(v.metrics.perLabel[j].f1), fmt(typeof t === 'number' ? t : t[j], 3));
    }
    return r;
  });
  return renderTable(
    headers,
    rows,
    headers.map((_, c) => c > 0),
  );
}

/** What was evaluated, and every id or line left out. */
export function formatCoverage(report: PredictionsEvalReport, maxIds = 10): string {
  const c = report.coverage;
  const list = (ids: string[]): string =>
    ids.slice(0, maxIds).join(', ') + (ids.length > maxIds ? `, … (${ids.length - maxIds} more)` : '');
  const out = [
    `Evaluated ${c.evaluated} of ${c.splitSize} movies of split "${report.split}" (${c.predictionRows} valid prediction lines).`,
  ];
  if (c.missingPredictions.length > 0)
    out.push(
      `${c.missingPredictions.length} movie(s) of the split have no prediction: ${list(c.missingPredictions)}`,
    );
  if (c.unknownIds.length > 0)
    out.push(`${c.unknownIds.length} predicted id(s) are not in the split: ${list(c.unknownIds)}`);
  if (c.fileErrors.length > 0) {
    out.push(`${c.fileErrors.length} bad line(s) in ${report.predictions}:`);
    for (const e of c.fileErrors.slice(0, maxIds)) out.push(`  ${e.message}`);
    if (c.fileErrors.length > maxIds) out.push(`  … (${c.fileErrors.length - maxIds} more)`);
  }
  return out.join('\n');
}
