/** The grid's tables (plain text for the terminal, markdown for grid.md) and the analysis under them. */
import { renderTable } from '../eval/format.js';
import { formatSpread } from './stats.js';
import type { GridCell, GridReport } from './types.js';

const HEADERS = [
  'inputs',
  'fusion',
  'movies tr/dev/test',
  'seeds',
  'label-wise acc',
  'study acc',
  'all-neg acc',
  'macro ROC-AUC',
  'study AUC',
  'micro-F1',
  'macro-F1',
];
const RIGHT = [false, false, true, true, true, true, true, true, true, true, true];

function row(c: GridCell): string[] {
  const f = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(4));
  return [
    c.label,
    c.fusion ?? '–',
    c.sizes ? `${c.sizes.train}/${c.sizes.dev}/${c.sizes.test}` : '–',
    `${c.seeds.length}${c.failed ? ` (+${c.failed} failed)` : ''}`,
    formatSpread(c.metrics.labelwiseAccuracy),
    f(c.study?.labelwiseAccuracy),
    f(c.allNegativeAccuracy),
    formatSpread(c.metrics.rocAucMacro),
    f(c.study?.rocAucMacro),
    formatSpread(c.metrics.f1Micro),
    formatSpread(c.metrics.f1Macro),
  ];
}

function heading(r: GridReport): string[] {
  const s = r.settings;
  return [
    `Feature-combination grid on ${r.dataset.name} (${r.dataset.format}, ${r.dataset.records} movies, ${r.dataset.labels.length} genres), test split, threshold 0.5`,
    `fusions: ${s.fusions.join(', ')}; seeds: ${s.seeds.join(', ')}; movies without a poster: ${s.missingPoster === 'drop' ? 'dropped from poster rows' : 'kept, poster marked missing'}; ` +
      `up to ${s.epochs} epochs (early stop after ${s.patience} without a better dev macro-F1)`,
    `± = ${r.spread}. study = ${r.studySource}`,
  ];
}

function failures(r: GridReport): string[] {
  const failed = r.runs.filter((x) => x.status === 'failed');
  return failed.length
    ? ['', `${failed.length} training(s) failed:`, ...failed.map((x) => `  ${x.name}: ${x.error}`)]
    : [];
}

function timings(r: GridReport): string {
  const t = r.timings;
  const trained = r.runs.filter((x) => x.status === 'done').length;
  const reused = r.runs.filter((x) => x.status === 'reused').length;
  return (
    `time: ${t.totalSeconds.toFixed(0)} s in all (load ${t.loadSeconds.toFixed(0)} s, features ${t.featureSeconds.toFixed(0)} s, ` +
    `training ${t.trainSeconds.toFixed(0)} s for ${trained} run(s) on ${r.settings.workers} worker(s)${reused ? `, ${reused} reused` : ''})`
  );
}

/** The terminal output: heading, table, analysis, where the files are. */
export function formatGridText(r: GridReport): string {
  const table = renderTable(HEADERS, r.cells.map(row), RIGHT);
  return [
    ...heading(r),
    '',
    table,
    ...failures(r),
    '',
    'Analysis',
    ...r.analysis.map((l) => `- ${l}`),
    '',
    timings(r),
    `written: ${r.out}/grid.json, ${r.out}/grid.md (runs under ${r.out}/runs)`,
  ].join('\n');
}

const md = (s: string): string => s.replace(/\|/g, '\\|');

export function formatGridMarkdown(r: GridReport): string {
  const lines = [
    `# Feature-combination grid: ${r.dataset.name}`,
    '',
    ...heading(r).map((l) => `${l}  `),
    '',
    `| ${HEADERS.join(' | ')} |`,
    `|${RIGHT.map((right) => (right ? '---:' : '---')).join('|')}|`,
    ...r.cells.map((c) => `| ${row(c).map(md).join(' | ')} |`),
    ...failures(r),
    '',
    '## Analysis',
    '',
    ...r.analysis.map((l) => `- ${l}`),
    '',
    '## Features',
    '',
    '| feature | encoder | movies | missing | computed now | seconds |',
    '|---|---|---:|---:|---:|---:|',
    ...r.features.map(
      (f) =>
        `| ${f.feature} | ${f.encoder} | ${f.rows} | ${f.missing} | ${f.computedRows} | ${f.seconds.toFixed(1)} |`,
    ),
    '',
    timings(r),
    '',
  ];
  return lines.join('\n');
}
