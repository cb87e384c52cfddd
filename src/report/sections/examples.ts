/**
 * Examples: the test movies a run was most sure about, right and wrong. A movie is "right" when
 * its top-scoring genre is one of its true genres; confidence is that top score.
 */
import type { MovieRecord } from '../../data/types.js';
import type { ReportContext } from '../context.js';
import { missing, section, type ReportSection } from '../html.js';
import { posterThumbnail } from '../thumbnail.js';
import { escapeHtml } from '../text.js';

export interface Example {
  record: MovieRecord;
  right: boolean;
  topGenre: string;
  topScore: number;
  /** Genres over their threshold, with scores, highest first. */
  predicted: Array<{ genre: string; score: number }>;
  truth: string[];
}

export function pickExamples(
  ctx: ReportContext,
  k: number,
  count: number,
): { right: Example[]; wrong: Example[]; thresholdKind: string } | undefined {
  const t = ctx.testSets[k];
  const run = ctx.runs[k];
  if (!t) return undefined;
  const thresholds = run.thresholds ?? run.labels.map(() => 0.5);
  const all: Example[] = t.records.map((record, i) => {
    const p = t.yProb[i];
    let top = 0;
    for (let j = 1; j < p.length; j++) if (p[j] > p[top]) top = j;
    const predicted = run.labels
      .map((genre, j) => ({ genre, score: p[j] }))
      .filter((x, j) => x.score > thresholds[j])
      .sort((a, b) => b.score - a.score);
    const truth = record.genres.filter((g) => run.labels.includes(g));
    return {
      record,
      right: t.yTrue[i][top] === 1,
      topGenre: run.labels[top],
      topScore: p[top],
      predicted,
      truth,
    };
  });
  const byScore = (a: Example, b: Example): number =>
    b.topScore - a.topScore || a.record.id.localeCompare(b.record.id);
  return {
    right: all
      .filter((e) => e.right)
      .sort(byScore)
      .slice(0, count),
    wrong: all
      .filter((e) => !e.right)
      .sort(byScore)
      .slice(0, count),
    thresholdKind: run.thresholds ? 'tuned thresholds' : 'threshold 0.5',
  };
}

function plotExcerpt(plot: string | null, max = 320): string {
  if (!plot) return '(no plot)';
  const clean = plot
    .replace(/::[^:]*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length <= max
    ? clean
    : `${clean.slice(0, clean.lastIndexOf(' ', max - 1) > 0 ? clean.lastIndexOf(' ', max - 1) : max)}…`;
}

async function exampleCard(e: Example): Promise<string> {
  let poster: string;
  if (!e.record.posterPath) poster = '<div class="poster none">no poster</div>';
  else {
    try {
      poster = `<img class="poster" alt="poster of ${escapeHtml(e.record.title ?? e.record.id)}" src="${await posterThumbnail(e.record.posterPath)}">`;
    } catch (err) {
      poster = `<div class="poster none" title="${escapeHtml((err as Error).message)}">poster unreadable</div>`;
    }
  }
  const truth = new Set(e.truth);
  const predictedSet = new Set(e.predicted.map((p) => p.genre));
  const shown = e.predicted.slice(0, 6);
  const more = e.predicted.length - shown.length;
  const pred = e.predicted.length
    ? shown
        .map(
          (p) =>
            `<span class="chip ${truth.has(p.genre) ? 'hit' : 'false'}">${escapeHtml(p.genre)} ${p.score.toFixed(2)}</span>`,
        )
        .join('') + (more > 0 ? `<span class="chip empty">+${more} more</span>` : '')
    : '<span class="chip empty">none over threshold</span>';
  const true_ = e.truth
    .map((g) => `<span class="chip ${predictedSet.has(g) ? 'hit' : 'missed'}">${escapeHtml(g)}</span>`)
    .join('');
  const title = e.record.title ? `${e.record.title}` : e.record.id;
  return (
    `<article class="example ${e.right ? 'right' : 'wrong'}" data-id="${escapeHtml(e.record.id)}">${poster}<div class="example-body">` +
    `<h4>${escapeHtml(title)} <span class="id">${escapeHtml(e.record.id)}</span></h4>` +
    `<p class="top">top genre <b>${escapeHtml(e.topGenre)}</b> at ${e.topScore.toFixed(2)} ${e.right ? '✓' : '✗'}</p>` +
    `<p class="genres"><span class="k">true</span>${true_}</p><p class="genres"><span class="k">predicted</span>${pred}</p>` +
    `<p class="plot">${escapeHtml(plotExcerpt(e.record.plot))}</p></div></article>`
  );
}

export async function renderExamplesSection(ctx: ReportContext): Promise<ReportSection> {
  const parts: string[] = [];
  for (let k = 0; k < ctx.runs.length; k++) {
    const run = ctx.runs[k];
    const picked = pickExamples(ctx, k, ctx.options.examples);
    parts.push(`<h3>${escapeHtml(run.name)}</h3>`);
    if (!picked) {
      parts.push(
        missing(`${run.name}: no test predictions lined up with the data (pass --data DIR), so no examples.`),
      );
      continue;
    }
    const noPosters = [...picked.right, ...picked.wrong].every((e) => !e.record.posterPath);
    if (noPosters)
      parts.push(missing('These movies have no posters in the data, so no thumbnails are shown.'));
    for (const [label, list] of [
      ['Most confident and right', picked.right],
      ['Most confident and wrong', picked.wrong],
    ] as const) {
      parts.push(`<h4 class="examples-title">${label}</h4>`);
      parts.push(
        list.length === 0
          ? missing(`No ${label.endsWith('right') ? 'right' : 'wrong'} test movie for this run.`)
          : `<div class="examples">${(await Promise.all(list.map(exampleCard))).join('')}</div>`,
      );
    }
    parts.push(
      `<p class="note">Predicted genres use the run’s ${picked.thresholdKind}; chips: green = correct, red = predicted but wrong, grey struck = missed.</p>`,
    );
  }
  return section(
    'examples',
    'Examples',
    'The test movies each run was most sure of: right means its top-scoring genre is one of the movie’s genres.',
    parts.join(''),
  );
}
