/** The headline table: each run's test F1 (0.5 and tuned, with bootstrap intervals) beside the published MM-IMDB rows. */
import { datasetLabel } from '../dataset-label.js';
import { MMIMDB_TEST_SIZE } from '../../eval/compare.js';
import { citationOf, PUBLISHED_RESULTS, type PublishedMetric } from '../../eval/published.js';
import type { F1Average } from '../../eval/bootstrap.js';
import type { EvalVariant } from '../../eval/run-eval.js';
import type { ReportContext } from '../context.js';
import { missing, notes, section, type ReportSection } from '../html.js';
import { escapeHtml, fmtNum } from '../text.js';

const AVERAGES: F1Average[] = ['micro', 'macro', 'weighted', 'samples'];
const PUBLISHED_KEY: Record<F1Average, PublishedMetric> = {
  micro: 'f1Micro',
  macro: 'f1Macro',
  weighted: 'f1Weighted',
  samples: 'f1Samples',
};

function variantLabel(v: EvalVariant): string {
  if (v.kind === 'default') return '0.5';
  if (v.kind === 'tuned') return `tuned on ${v.tunedOn ?? 'dev'}`;
  return String(v.metrics.threshold);
}

function cell(v: EvalVariant, avg: F1Average): string {
  const ci = v.bootstrap?.f1[avg];
  const interval = ci ? `<span class="ci">[${fmtNum(ci.low)}, ${fmtNum(ci.high)}]</span>` : '';
  return `<td class="num">${fmtNum(v.metrics.f1[avg])}${interval}</td>`;
}

/** Whether a run's test set is MM-IMDB's own test split (then the published rows are comparable). */
function isMmimdbTestSplit(ctx: ReportContext, k: number): boolean {
  const ds = ctx.datasets[k];
  const n = ctx.evaluations[k]?.file.n;
  return Boolean(ds && ds.format.startsWith('mmimdb') && n === MMIMDB_TEST_SIZE);
}

/** The published row kept beside ours: the paper's own GMU. */
const REFERENCE_ROW = 'arevalo2017/mm-gmu';

export function renderHeadlineSection(ctx: ReportContext): ReportSection {
  const head = `<thead><tr><th>Model</th><th>Test set</th><th class="num">n</th><th>Threshold</th>${AVERAGES.map((a) => `<th class="num">${a} F1</th>`).join('')}</tr></thead>`;
  const rows: string[] = [];
  const extra: string[] = [];
  ctx.runs.forEach((run, k) => {
    const ev = ctx.evaluations[k];
    const ds = ctx.datasets[k];
    const testSet = ds ? `${datasetLabel(ds)} test split` : (run.info?.data.name ?? 'unknown data');
    if (!ev) {
      rows.push(
        `<tr class="ours" data-run="${escapeHtml(run.name)}"><td>${escapeHtml(run.name)}</td><td>${escapeHtml(testSet)}</td><td colspan="${2 + AVERAGES.length}" class="missing">no test evaluation: no predictions-test.jsonl with data, and no test metrics in eval.json</td></tr>`,
      );
      return;
    }
    if (ev.source === 'eval.json')
      extra.push(
        `${run.name}: read from eval.json (no dataset to recompute with), so without bootstrap intervals`,
      );
    ev.file.variants.forEach((v, i) => {
      rows.push(
        `<tr class="ours" data-run="${escapeHtml(run.name)}">${
          i === 0
            ? `<td rowspan="${ev.file.variants.length}">${escapeHtml(run.name)}</td><td rowspan="${ev.file.variants.length}">${escapeHtml(testSet)}</td><td class="num" rowspan="${ev.file.variants.length}">${ev.file.n}</td>`
            : ''
        }<td>${escapeHtml(variantLabel(v))}</td>${AVERAGES.map((a) => cell(v, a)).join('')}</tr>`,
      );
    });
  });
  const allSame = ctx.runs.length > 0 && ctx.runs.every((_, k) => isMmimdbTestSplit(ctx, k));
  rows.push(
    `<tr class="group"><th colspan="${4 + AVERAGES.length}">The paper’s GMU for reference (Arevalo et al. 2017); every published row below</th></tr>`,
  );
  const published = PUBLISHED_RESULTS.filter((r) => Object.values(r.metrics).some((m) => m?.value != null));
  // The paper's GMU row stays in the table; the other published rows fold away (they fill screens).
  const restRows: string[] = [];
  for (const r of published) {
    const target = r.id === REFERENCE_ROW ? rows : restRows;
    const cells = AVERAGES.map((a) => {
      const m = r.metrics[PUBLISHED_KEY[a]];
      if (!m || m.value === null) return '<td class="num">–</td>';
      return `<td class="num">${fmtNum(m.value)}${m.verified ? '' : '<sup title="quoted, not re-checked against the paper">†</sup>'}</td>`;
    }).join('');
    const badge = allSame ? '' : ' <span class="badge different">different test set</span>';
    target.push(
      `<tr class="published" data-published="${escapeHtml(r.id)}"><td>${escapeHtml(r.model)}<div class="cite">${escapeHtml(citationOf(r).replace(/\s*https?:\/\/\S+$/, ''))}</div></td><td>${escapeHtml(r.testSet)}${badge}</td><td class="num">${MMIMDB_TEST_SIZE}</td><td>0.5</td>${cells}</tr>`,
    );
  }
  const anyEval = ctx.evaluations.some(Boolean);
  const body =
    (anyEval ? '' : missing('None of the runs has a test evaluation to show.')) +
    `<table class="headline">${head}<tbody>${rows.join('')}</tbody></table>` +
    (restRows.length
      ? `<details class="published"><summary>All ${restRows.length} other published MM-IMDB results</summary><table class="headline published">${head}<tbody>${restRows.join('')}</tbody></table></details>`
      : '') +
    notes([
      ...extra,
      ...(allSame
        ? []
        : [
            'Published rows are on MM-IMDB’s own test split (7,799 movies); these runs are tested on other movies, so the rows are not directly comparable.',
          ]),
      '† quoted from the paper’s table through the project’s notes, not re-checked against the PDF (see src/eval/published.ts).',
    ]);
  const intro = `Test-set F1 at the paper’s threshold 0.5 and with per-genre thresholds tuned on dev. Brackets: ${
    ctx.options.bootstrap > 0
      ? `bootstrap 95% intervals over test movies (${ctx.options.bootstrap} resamples, seed ${ctx.options.seed})`
      : 'no bootstrap requested'
  }.`;
  return section('headline', 'Headline results', escapeHtml(intro), body);
}
