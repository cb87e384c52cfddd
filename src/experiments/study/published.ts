/**
 * The TMDB feature-combination study's published numbers, kept as data with their source so
 * that every figure printed beside ours can be traced.
 */
import { combinationKey, type Combination } from './combinations.js';

/** Fusions the grid can train: the study's two, plus the GMU (any number of inputs) and the MoE. */
export const GRID_FUSIONS = ['concat', 'sum', 'gmu', 'moe'] as const;
export type GridFusion = (typeof GRID_FUSIONS)[number];

/** The study's own fusions: the grid's default, which keeps the default run within its time budget. */
export const STUDY_FUSIONS: readonly GridFusion[] = ['concat', 'sum'];

/** How the analysis and the tables name each fusion. */
export const FUSION_NAMES: Record<GridFusion, string> = {
  concat: 'concatenation',
  sum: 'summation',
  gmu: 'GMU',
  moe: 'mixture of experts',
};

export interface StudyScore {
  /** Label-wise accuracy, as the study reported it ("accuracy"). */
  labelwiseAccuracy: number;
  /** Macro ROC-AUC, as the study reported it ("AUC-ROC"). */
  rocAucMacro: number;
}

export interface StudyRow {
  combination: Combination;
  /** By fusion; single-input rows have one score, listed under 'concat' (the study shows '–' for summation). */
  scores: Partial<Record<'concat' | 'sum', StudyScore>>;
}

export const STUDY_SOURCE =
  'TMDB feature-combination study (overview, title, production companies, poster; concatenation vs summation), ' +
  'table as quoted in mmgenre issue 8. Its own test set and label set, not ours: compare trends, not decimals.';

const s = (labelwiseAccuracy: number, rocAucMacro: number): StudyScore => ({
  labelwiseAccuracy,
  rocAucMacro,
});

export const STUDY_RESULTS: readonly StudyRow[] = [
  { combination: ['overview', 'poster'], scores: { concat: s(0.8645, 0.6914), sum: s(0.8634, 0.6845) } },
  { combination: ['companies', 'poster'], scores: { concat: s(0.8438, 0.6036), sum: s(0.8315, 0.6367) } },
  { combination: ['title', 'poster'], scores: { concat: s(0.8363, 0.631), sum: s(0.8422, 0.649) } },
  {
    combination: ['overview', 'title', 'poster'],
    scores: { concat: s(0.831, 0.6395), sum: s(0.8464, 0.6395) },
  },
  {
    combination: ['overview', 'title', 'companies', 'poster'],
    scores: { concat: s(0.8296, 0.6227), sum: s(0.8366, 0.6361) },
  },
  { combination: ['overview'], scores: { concat: s(0.8239, 0.6004) } },
  { combination: ['poster'], scores: { concat: s(0.8025, 0.5978) } },
];

/** The study's score for a combination and fusion (a single input: its one score), if it has one. */
export function studyScore(c: Combination, fusion: GridFusion | null): StudyScore | undefined {
  const row = STUDY_RESULTS.find((r) => combinationKey(r.combination) === combinationKey(c));
  if (!row) return undefined;
  if (fusion === null) return row.scores.concat;
  // The study trained only concatenation and summation.
  return fusion === 'concat' || fusion === 'sum' ? row.scores[fusion] : undefined;
}
