/** The grid's tables (plain text for the terminal, markdown for grid.md) and the analysis under them. */
import { renderTable } from '../../eval/text-tables.js';
import { combinationKey } from './combinations.js';
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

/**
 * The study's layout: a row per combination, a column per fusion (and one for single inputs,
 * which have no fusion), each cell macro ROC-AUC ± sd / macro-F1 over seeds.
 */
export function fusionTable(r: GridReport): { headers: string[]; rows: string[][]; right: boolean[] } {
  const columns: (string | null)[] = [...r.settings.fusions];
  if (r.cells.some((c) => c.fusion === null)) columns.push(null);
  const combos = [...new Set(r.cells.map((c) => combinationKey(c.combination)))];
  const cellOf = (key: string, fusion: string | null): GridCell | undefined =>
    r.cells.find((c) => combinationKey(c.combination) === key && c.fusion === fusion);
  const value = (c: GridCell | undefined): string => {
    if (!c || !c.metrics.rocAucMacro) return '–';
    const f1 = c.metrics.f1Macro?.mean;
    return `${formatSpread(c.metrics.rocAucMacro, 3)} / ${f1 === undefined ? '–' : f1.toFixed(3)}`;
  };
  const rows = combos.map((key) => {
    const any = r.cells.find((c) => combinationKey(c.combination) === key)!;
    return [any.label, ...columns.map((f) => value(cellOf(key, f)))];
  });
  return {
    headers: ['inputs', ...columns.map((f) => f ?? 'alone')],
    rows,
    right: [false, ...columns.map(() => true)],
  };
}

const FUSION_TABLE_TITLE = 'By fusion: macro ROC-AUC ± sd over seeds / mean macro-F1';

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
  const wide = fusionTable(r);
  return [
    ...heading(r),
    '',
    table,
    '',
    FUSION_TABLE_TITLE,
    renderTable(wide.headers, wide.rows, wide.right),
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
  const wide = fusionTable(r);
  const lines = [
    `# Feature-combination grid: ${r.dataset.name}`,
    '',
    ...heading(r).map((l) => `${l}  `),
    '',
    `| ${HEADERS.join(' | ')} |`,
    `|${RIGHT.map((right) => (right ? '---:' : '---')).join('|')}|`,
    ...r.cells.map((c) => `| ${row(c).map(md).join(' | ')} |`),
    '',
    `${FUSION_TABLE_TITLE}:`,
    '',
    `| ${wide.headers.join(' | ')} |`,
    `|${wide.right.map((right) => (right ? '---:' : '---')).join('|')}|`,
    ...wide.rows.map((cells) => `| ${cells.map(md).join(' | ')} |`),
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
