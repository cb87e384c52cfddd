/** run-all's summary as text tables (the terminal) and markdown (summary.md). */
import { formatCompare } from '../eval/compare.js';
import { renderTable } from '../eval/text-tables.js';
import { formatPaperTable } from './paper-rows.js';
import type { RunAllSummary } from './run-all-types.js';

const f3 = (x: number | undefined): string => (x === undefined ? '—' : x.toFixed(3));
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${f3(x)}`;

const REMOVED_HEAD = ['model', 'full @0.5', 'no poster', 'no plot', 'full tuned', 'no poster', 'no plot'];
const PAIRED_HEAD = ['model', 'against', 'macro', 'other', 'difference', '95% interval', 'p'];
const PER_SEED_HEAD = ['per seed', 'wins'];
/** Text columns first, numbers (right-aligned) from column `first` on. */
const rightAlignedFrom = (head: string[], first: number): boolean[] => head.map((_, k) => k >= first);

/** The modality-removed table: every multimodal run, test macro-F1 full / without poster / without plot. */
export function formatRemovedTable(summary: RunAllSummary): string {
  const rows = summary.entries
    .filter((e) => e.removed)
    .map((e) => [
      summary.seeds > 1 ? `${e.config} (seed ${e.seed})` : e.config,
      f3(e.removed!.full.at05.macro),
      f3(e.removed!.noPoster.at05.macro),
      f3(e.removed!.noPlot.at05.macro),
      f3(e.removed!.full.tuned.macro),
      f3(e.removed!.noPoster.tuned.macro),
      f3(e.removed!.noPlot.tuned.macro),
    ]);
  return [
    'Test macro-F1 with a modality removed from every test movie (masked as missing)',
    renderTable(REMOVED_HEAD, rows, rightAlignedFrom(REMOVED_HEAD, 1)),
  ].join('\n');
}

function formatSeedsTable(summary: RunAllSummary): string {
  const ens = summary.byConfig.some((c) => c.ensemble);
  const rows = summary.byConfig.map((c) => [
    c.config,
    c.kind,
    String(c.n),
    f3(c.devMean),
    c.n > 1 ? `${f3(c.mean)} ± ${f3(c.sd)}` : f3(c.mean),
    f3(c.tunedMean),
    ...(ens ? [f3(c.ensemble?.dev.at05), f3(c.ensemble?.test.at05), f3(c.ensemble?.test.tuned)] : []),
  ]);
  const head = ['config', 'kind', 'runs', 'dev @0.5', 'test @0.5', 'test tuned'];
  return [
    `Macro-F1 per config (${summary.seeds} seed${summary.seeds > 1 ? "s: mean ± sd; ensemble = the seeds' probabilities averaged" : ''}; dev is what selection uses)`,
    renderTable(
      ens ? [...head, 'ens dev', 'ens test', 'ens tuned'] : head,
      rows,
      rows[0]?.map((_, k) => k > 1) ?? [],
    ),
  ].join('\n');
}

/** The GMU against every other config on the test movies (seed ensembles, paired bootstrap). */
export function formatPairedTable(summary: RunAllSummary): string {
  if (!summary.paired || summary.paired.length === 0) return '';
  const perSeed = summary.paired.some((p) => p.perSeed && p.perSeed.length > 0);
  const rows = summary.paired.map((p) => [
    p.a,
    p.b,
    f3(p.aMacro),
    f3(p.bMacro),
    signed(p.difference),
    `[${f3(p.low)}, ${f3(p.high)}]`,
    p.pValue.toFixed(2),
    ...(perSeed
      ? [
          (p.perSeed ?? []).map(signed).join(' '),
          `${(p.perSeed ?? []).filter((d) => d > 0).length}/${(p.perSeed ?? []).length}`,
        ]
      : []),
  ]);
  const what = summary.seeds > 1 ? `the ${summary.seeds} seeds' probabilities averaged` : 'one run each';
  const head = perSeed ? [...PAIRED_HEAD, ...PER_SEED_HEAD] : PAIRED_HEAD;
  return [
    `GMU against the others: test macro-F1 @0.5 (${what}), difference with a 95% paired bootstrap interval (1,000 resamples)` +
      (perSeed
        ? '; per seed: the same difference run against run of each seed, and how many the GMU wins'
        : ''),
    renderTable(head, rows, rightAlignedFrom(head, 2)),
  ].join('\n');
}

/** The whole text report: comparison table, modality-removed table, per-config summary, failures. */
export function formatRunAll(summary: RunAllSummary): string {
  const parts = [
    ...(summary.paper ? [formatPaperTable(summary.paper), ''] : []),
    formatCompare(summary.compare),
    '',
    formatRemovedTable(summary),
    '',
    formatSeedsTable(summary),
  ];
  const paired = formatPairedTable(summary);
  if (paired) parts.push('', paired);
  const failed = summary.entries.filter((e) => !e.ok);
  if (failed.length > 0) {
    parts.push('', 'Failed:');
    for (const e of failed) parts.push(`  ${e.config} (seed ${e.seed}): ${e.error}`);
  }
  return parts.join('\n');
}

export function formatRunAllMarkdown(summary: RunAllSummary): string {
  return [`# run-all on ${summary.data}`, '', '```', formatRunAll(summary), '```', ''].join('\n');
}
