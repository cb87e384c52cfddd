/**
 * A run's test movies for browsing: its test predictions beside the dataset's true genres,
 * titles, plots and posters, with right/wrong per movie or per genre.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadDataset } from '../data/load.js';
import type { MovieRecord } from '../data/types.js';
import type { PredictInput, Prediction } from '../predict/types.js';
import { readPredictions } from '../eval/predictions.js';
import { DEFAULT_THRESHOLD, DEFAULT_THRESHOLD_POLICY } from '../eval/thresholds.js';
import { RUN_FILES } from '../runs/run.js';
import type { RunEntry } from './catalog.js';
import { HttpError } from './errors.js';
import { redactPaths } from './redact.js';

export interface BrowsedMovie {
  id: string;
  title: string | null;
  plot: string | null;
  /** True genres (null when the dataset is not available). */
  trueGenres: string[] | null;
  predictedGenres: string[];
  /** The five most probable genres with their probabilities. */
  top: Array<{ genre: string; probability: number }>;
  /** Predicted set equals the true set (null without true genres). */
  correct: boolean | null;
  /** How many of the true genres were predicted (null without true genres). */
  matched: number | null;
  /**
   * 'exact': predicted set = true set; 'partial': some true genres predicted (or all of them plus
   * others); 'wrong': none of the true genres predicted. Null without true genres.
   */
  verdict: Verdict | null;
  hasPoster: boolean;
  gate?: unknown;
}

export type Verdict = 'exact' | 'partial' | 'wrong';

/** One movie in full: what the movie view of the web page shows. */
export interface MovieDetail {
  id: string;
  title: string | null;
  year: number | null;
  plot: string | null;
  trueGenres: string[] | null;
  predictedGenres: string[];
  verdict: Verdict | null;
  matched: number | null;
  /** Every genre, most probable first, with its threshold and whether it is true. */
  genres: Array<{
    genre: string;
    probability: number;
    threshold: number;
    predicted: boolean;
    true: boolean | null;
  }>;
  hasPoster: boolean;
  /** The predictions file's gate field (a GMU's poster share), when the model has one. */
  gate?: unknown;
}

export interface RunMovies {
  labels: string[];
  thresholdKind: 'tuned' | '0.5';
  /** Why true genres or posters are absent, when they are. */
  datasetNote: string | null;
  movies: BrowsedMovie[];
  posterPath(id: string): string | null;
  /** Whether any movie has true genres (right/wrong filters need them). */
  hasTruth: boolean;
  /** The dataset record of one of the run's movies (for the movie view and its explanation). */
  record(id: string): MovieRecord | null;
  /** The full view of one of the run's movies, or null when the run has no such movie. */
  detail(id: string): MovieDetail | null;
}

/** Exact, partial or wrong: a movie with 3 of its 4 genres predicted is partly right, not wrong. */
export function verdictOf(truth: string[], predicted: string[]): { verdict: Verdict; matched: number } {
  const matched = truth.filter((g) => predicted.includes(g)).length;
  const exact = matched === truth.length && predicted.length === truth.length;
  return { verdict: exact ? 'exact' : matched > 0 ? 'partial' : 'wrong', matched };
}

export interface MovieQuery {
  genre?: string;
  correct?: string;
  /** exact, partial or wrong (see BrowsedMovie.verdict). */
  verdict?: string;
  /** Title search: every word must appear in the title (case and accents ignored); an id matches too. */
  q?: string;
  limit?: string;
  offset?: string;
}

const PLOT_EXCERPT = 400;

export async function loadRunMovies(run: RunEntry): Promise<RunMovies> {
  const predsPath = join(run.dir, RUN_FILES.predictionsTest);
  if (!existsSync(predsPath)) {
    throw new HttpError(404, 'no_test_predictions', `run '${run.id}' has no ${RUN_FILES.predictionsTest}`);
  }
  const file = readPredictions(predsPath);
  const labels = run.info?.data.labels ?? file.labels;
  // The one default policy (DEFAULT_THRESHOLD_POLICY): the paper's 0.5 for every genre.
  const thresholds = labels.map(() => DEFAULT_THRESHOLD);
  let records = new Map<string, MovieRecord>();
  let datasetNote: string | null = null;
  const dataPath = run.info?.data.path;
  if (dataPath && existsSync(dataPath)) {
    try {
      const ds = await loadDataset(dataPath, { progress: false });
      records = new Map(ds.records.map((r) => [r.id, r]));
    } catch (err) {
      datasetNote = `the run's dataset could not be read (${redactPaths((err as Error).message)})`;
    }
  } else {
    datasetNote = `the run's dataset (${dataPath ? basename(dataPath) : 'unknown'}) is not on this machine: no true genres or posters`;
  }
  const fullPlot = (rec: MovieRecord | undefined): string | null =>
    rec?.plot ? rec.plot.replace(/::.*$/s, '').trim() : null;
  const movies = file.rows.map((row): BrowsedMovie => {
    const rec = records.get(row.id);
    const predicted = labels
      .map((l, j) => [l, row.scores[l] ?? 0, thresholds[j]] as const)
      .filter(([, p, t]) => p >= t)
      .sort((a, b) => b[1] - a[1])
      .map(([l]) => l);
    const top = Object.entries(row.scores)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([genre, probability]) => ({ genre, probability }));
    const truth = rec ? rec.genres.filter((g) => labels.includes(g)) : null;
    const plot = fullPlot(rec);
    const v = truth ? verdictOf(truth, predicted) : null;
    const movie: BrowsedMovie = {
      id: row.id,
      title: rec?.title ?? null,
      plot: plot && plot.length > PLOT_EXCERPT ? `${plot.slice(0, PLOT_EXCERPT)}…` : plot,
      trueGenres: truth,
      predictedGenres: predicted,
      top,
      correct: v ? v.verdict === 'exact' : null,
      matched: v?.matched ?? null,
      verdict: v?.verdict ?? null,
      hasPoster: !!rec?.posterPath,
    };
    if (row.gate !== undefined) movie.gate = row.gate;
    return movie;
  });
  const rows = new Map(file.rows.map((row, i) => [row.id, { row, movie: movies[i] }]));
  return {
    labels,
    thresholdKind: DEFAULT_THRESHOLD_POLICY,
    datasetNote,
    movies,
    hasTruth: movies.some((mv) => mv.trueGenres !== null),
    posterPath: (id) => (rows.has(id) ? (records.get(id)?.posterPath ?? null) : null),
    record: (id) => (rows.has(id) ? (records.get(id) ?? null) : null),
    detail: (id) => {
      const found = rows.get(id);
      if (!found) return null;
      const { row, movie } = found;
      const rec = records.get(id);
      const year = rec?.meta?.year;
      const detail: MovieDetail = {
        id,
        title: movie.title,
        year: typeof year === 'number' ? year : null,
        plot: fullPlot(rec),
        trueGenres: movie.trueGenres,
        predictedGenres: movie.predictedGenres,
        verdict: movie.verdict,
        matched: movie.matched,
        genres: labels
          .map((genre, j) => ({
            genre,
            probability: row.scores[genre] ?? 0,
            threshold: thresholds[j],
            predicted: movie.predictedGenres.includes(genre),
            true: movie.trueGenres ? movie.trueGenres.includes(genre) : null,
          }))
          .sort((a, b) => b.probability - a.probability),
        hasPoster: movie.hasPoster,
      };
      if (movie.gate !== undefined) detail.gate = movie.gate;
      return detail;
    },
  };
}

/** Lower case without accents, so that "amelie" finds "Amélie". */
function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

function parseCorrect(v: string | undefined): boolean | undefined {
  if (v === undefined || v === '' || v === 'all') return undefined;
  if (v === 'true' || v === 'right' || v === '1') return true;
  if (v === 'false' || v === 'wrong' || v === '0') return false;
  throw new HttpError(400, 'bad_query', `correct must be true/right or false/wrong, got "${v}"`);
}

function parseInt(v: string | undefined, name: string, fallback: number, max: number): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new HttpError(400, 'bad_query', `${name} must be a whole number from 0 to ${max}, got "${v}"`);
  }
  return n;
}

/**
 * Filter: `genre` keeps movies that have it or are predicted to (with `correct`, right means the
 * prediction for that genre matches the truth); without a genre, right means the predicted set
 * equals the true set.
 */
export function queryMovies(
  m: RunMovies,
  q: MovieQuery,
): {
  total: number;
  offset: number;
  limit: number;
  movies: Array<BrowsedMovie & { genreCorrect?: boolean }>;
} {
  const correct = parseCorrect(q.correct);
  const limit = parseInt(q.limit, 'limit', 60, 1000);
  const offset = parseInt(q.offset, 'offset', 0, 10_000_000);
  const genre = q.genre === undefined || q.genre === '' ? undefined : q.genre;
  if (genre !== undefined && !m.labels.includes(genre)) {
    throw new HttpError(
      400,
      'unknown_genre',
      `unknown genre "${genre}"; this run's genres: ${m.labels.join(', ')}`,
    );
  }
  const verdict = q.verdict === undefined || q.verdict === '' ? undefined : q.verdict;
  if (verdict !== undefined && !['exact', 'partial', 'wrong'].includes(verdict))
    throw new HttpError(400, 'bad_query', `verdict must be exact, partial or wrong, got "${verdict}"`);
  if ((correct !== undefined || verdict !== undefined) && !m.hasTruth) {
    throw new HttpError(
      409,
      'no_true_genres',
      m.datasetNote ?? 'this run has no true genres to compare with',
    );
  }
  if (q.q !== undefined && q.q.length > 200)
    throw new HttpError(400, 'bad_query', 'the search text is longer than 200 characters');
  const words = fold(q.q ?? '')
    .split(/\s+/)
    .filter(Boolean);
  let list: Array<BrowsedMovie & { genreCorrect?: boolean }> = m.movies;
  if (words.length) {
    list = list.filter((mv) => {
      const title = fold(mv.title ?? '');
      return words.every((w) => title.includes(w)) || (words.length === 1 && mv.id === words[0]);
    });
  }
  if (verdict !== undefined) list = list.filter((mv) => mv.verdict === verdict);
  if (genre !== undefined) {
    list = list
      .filter((mv) => mv.predictedGenres.includes(genre) || (mv.trueGenres?.includes(genre) ?? false))
      .map((mv) => ({
        ...mv,
        genreCorrect: mv.trueGenres
          ? mv.predictedGenres.includes(genre) === mv.trueGenres.includes(genre)
          : undefined,
      }));
    if (correct !== undefined) list = list.filter((mv) => mv.genreCorrect === correct);
  } else if (correct !== undefined) {
    list = list.filter((mv) => mv.correct === correct);
  }
  return { total: list.length, offset, limit, movies: list.slice(offset, offset + limit) };
}

/**
 * The movie view's answer: the stored prediction in full, plus the model's gate on the movie
 * (modality shares and per-genre parts, from a fresh prediction) when the model has a gate.
 */
export async function movieView(
  run: RunEntry,
  m: RunMovies,
  id: string,
  predict: (input: PredictInput) => Promise<Prediction>,
): Promise<MovieDetail & { run: string; thresholds: string; explanation: MovieExplanation | null }> {
  const detail = m.detail(id);
  if (!detail) throw new HttpError(404, 'no_movie', `run '${run.id}' has no test movie '${id}'`);
  const rec = m.record(id);
  let explanation: MovieExplanation | null = null;
  if (rec && run.hasModel) {
    try {
      const p = await predict({
        poster: rec.posterPath ?? undefined,
        plot: rec.plot ?? undefined,
        title: rec.title,
      });
      if (p.contributions)
        explanation = { contributions: p.contributions, genreContributions: p.genreContributions ?? null };
    } catch {
      // A model that cannot run here: the view still shows the stored prediction.
    }
  }
  return { run: run.id, thresholds: m.thresholdKind, ...detail, explanation };
}

export interface MovieExplanation {
  /** Each modality's share of the fused representation (the GMU gate averaged over its units). */
  contributions: Record<string, number>;
  /** Per genre, each modality's additive part of the genre's logit (null when not exact). */
  genreContributions: Record<string, Record<string, number>> | null;
}
