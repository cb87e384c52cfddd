/** `data check`: load a dataset with full validation and summarise what is usable and what is wrong. */
import { loadDataset, type LoadOptions } from './load.js';
import { formatTable } from './table.js';
import { SPLITS, type Dataset, type IssueKind, type RecordIssue, type SplitName } from './types.js';

export interface IssueSummary {
  kind: IssueKind;
  severity: RecordIssue['severity'];
  count: number;
  /** The first few issues of this kind, as found. */
  examples: RecordIssue[];
}

export interface CheckReport {
  name: string;
  root: string;
  format: Dataset['format'];
  /** Records the source held before validation (TMDB: CSV data rows; MM-IMDB: ids in split.json). */
  scanned: number;
  /** Usable records (TMDB: usable rows). */
  valid: number;
  perSplit: Record<SplitName, number>;
  perGenre: Array<{ genre: string; total: number } & Record<SplitName, number>>;
  withPlot: number;
  /** Records with a usable poster (TMDB: posters found). */
  withPoster: number;
  /** Whether every poster was decoded (otherwise only existence + magic bytes were checked). */
  postersVerified: boolean;
  errors: number;
  warnings: number;
  issues: IssueSummary[];
}

/** Load `path` (posters decoded unless `verifyPosters: false`) and summarise it. */
export async function checkDataset(
  path: string,
  opts: LoadOptions & { examples?: number } = {},
): Promise<CheckReport> {
  const verifyPosters = opts.verifyPosters ?? true;
  const ds = await loadDataset(path, { ...opts, verifyPosters });
  return summarizeCheck(ds, { verifyPosters, examples: opts.examples });
}

/** The check summary of an already loaded dataset. */
export function summarizeCheck(
  ds: Dataset,
  opts: { verifyPosters?: boolean; examples?: number } = {},
): CheckReport {
  const nExamples = opts.examples ?? 3;
  const splitOf = new Map<string, SplitName>();
  for (const s of SPLITS) for (const id of ds.splits[s]) splitOf.set(id, s);
  const perGenre = ds.labels.map((genre) => ({ genre, total: 0, train: 0, dev: 0, test: 0 }));
  const index = new Map(ds.labels.map((g, i) => [g, i]));
  for (const r of ds.records) {
    const s = splitOf.get(r.id);
    for (const g of r.genres) {
      const row = perGenre[index.get(g) ?? -1];
      if (!row) continue;
      row.total++;
      if (s) row[s]++;
    }
  }
  const byKind = new Map<IssueKind, RecordIssue[]>();
  for (const issue of ds.issues) {
    const list = byKind.get(issue.kind);
    if (list) list.push(issue);
    else byKind.set(issue.kind, [issue]);
  }
  const summaries: IssueSummary[] = [...byKind].map(([kind, list]) => ({
    kind,
    severity: list.some((i) => i.severity === 'error') ? 'error' : 'warning',
    count: list.length,
    examples: pickExamples(list, nExamples),
  }));
  return {
    name: ds.name,
    root: ds.root,
    format: ds.format,
    scanned: ds.scanned ?? ds.records.length,
    valid: ds.records.length,
    perSplit: { train: ds.splits.train.length, dev: ds.splits.dev.length, test: ds.splits.test.length },
    perGenre,
    withPlot: ds.records.filter((r) => r.plot !== null).length,
    withPoster: ds.records.filter((r) => r.posterPath !== null).length,
    postersVerified: opts.verifyPosters ?? false,
    errors: ds.issues.filter((i) => i.severity === 'error').length,
    warnings: ds.issues.filter((i) => i.severity === 'warning').length,
    issues: summaries.sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind)),
  };
}

/**
 * The first issue of each distinct message shape first (e.g. "no poster_path" and "poster file
 * not found" are both missing-poster), then the next ones in file order.
 */
function pickExamples(list: RecordIssue[], n: number): RecordIssue[] {
  const shape = (i: RecordIssue): string =>
    i.message
      .replace(/\([^)]*\)|'[^']*'|\[[^\]]*\]/g, '')
      .replace(/[\d/\\.]+/g, '')
      .slice(0, 40);
  const seen = new Set<string>();
  const picked: RecordIssue[] = [];
  for (const i of list) {
    if (picked.length >= n) break;
    if (seen.has(shape(i))) continue;
    seen.add(shape(i));
    picked.push(i);
  }
  for (const i of list) {
    if (picked.length >= n) break;
    if (!picked.includes(i)) picked.push(i);
  }
  return picked;
}

/** The report as the plain-text tables `data check` prints. */
export function formatCheckReport(r: CheckReport): string {
  const tmdb = r.format === 'tmdb';
  const out: string[] = [];
  out.push(`${r.name} (${r.format}) at ${r.root}`);
  const head: Array<[string, string]> = tmdb
    ? [
        ['rows', String(r.scanned)],
        ['usable rows', String(r.valid)],
        ['posters found', `${r.withPoster}${r.postersVerified ? ' (all decoded)' : ' (not decoded)'}`],
        ['with overview', String(r.withPlot)],
      ]
    : [
        [r.format === 'mmimdb-hdf5' ? 'movies in file' : 'ids in split.json', String(r.scanned)],
        ['valid movies', String(r.valid)],
        ['with plot', String(r.withPlot)],
        [
          'with poster',
          // The HDF5 layout holds images and features inside the file: no poster files to decode.
          r.format === 'mmimdb-hdf5'
            ? `${r.withPoster} (poster files; the HDF5 holds its own images)`
            : `${r.withPoster}${r.postersVerified ? ' (all decoded)' : ' (not decoded)'}`,
        ],
      ];
  head.push(['split (train / dev / test)', `${r.perSplit.train} / ${r.perSplit.dev} / ${r.perSplit.test}`]);
  head.push(['issues', `${r.errors} errors, ${r.warnings} warnings`]);
  out.push(formatTable(['', ''], head, { header: false }));
  out.push('');
  out.push('genres');
  out.push(
    formatTable(
      ['genre', 'total', 'train', 'dev', 'test'],
      r.perGenre.map((g) => [g.genre, g.total, g.train, g.dev, g.test].map(String)),
      { align: ['left', 'right', 'right', 'right', 'right'] },
    ),
  );
  out.push('');
  if (r.issues.length === 0) {
    out.push('no issues found');
  } else {
    out.push(tmdb ? 'problems by kind' : 'issues by kind');
    out.push(
      formatTable(
        ['kind', 'severity', 'count'],
        r.issues.map((i) => [i.kind, i.severity, String(i.count)]),
        { align: ['left', 'left', 'right'] },
      ),
    );
    for (const i of r.issues) {
      out.push('');
      out.push(`${i.kind} (${i.count}), e.g.:`);
      for (const e of i.examples) out.push(`  ${formatIssue(e)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** One issue on one line: where, then what. */
export function formatIssue(i: RecordIssue): string {
  const where = [
    i.file ? `${i.file}${i.line !== undefined ? `:${i.line}` : ''}` : '',
    i.id ? `[${i.id}]` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `${where ? `${where}: ` : ''}${i.message}`;
}
