/**
 * A run's test movies for browsing: its test predictions beside the dataset's true genres,
 * titles, plots and posters, with right/wrong per movie or per genre.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadDataset } from '../data/load.js';
import type { MovieRecord } from '../data/types.js';
import { readPredictions } from '../eval/predictions.js';
import { DEFAULT_THRESHOLD, DEFAULT_THRESHOLD_POLICY } from '../eval/thresholds.js';
import { RUN_FILES } from '../train/run.js';
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
  hasPoster: boolean;
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
}

export interface MovieQuery {
  genre?: string;
  correct?: string;
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
    const plot = rec?.plot ? rec.plot.replace(/::.*$/s, '').trim() : null;
    const movie: BrowsedMovie = {
      id: row.id,
      title: rec?.title ?? null,
      plot: plot && plot.length > PLOT_EXCERPT ? `${plot.slice(0, PLOT_EXCERPT)}…` : plot,
      trueGenres: truth,
      predictedGenres: predicted,
      top,
      correct: truth ? truth.length === predicted.length && truth.every((g) => predicted.includes(g)) : null,
      hasPoster: !!rec?.posterPath,
    };
    if (row.gate !== undefined) movie.gate = row.gate;
    return movie;
  });
  return {
    labels,
    thresholdKind: DEFAULT_THRESHOLD_POLICY,
    datasetNote,
    movies,
    hasTruth: movies.some((mv) => mv.trueGenres !== null),
    posterPath: (id) => records.get(id)?.posterPath ?? null,
  };
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
  if (correct !== undefined && !m.hasTruth) {
    throw new HttpError(
      409,
      'no_true_genres',
      m.datasetNote ?? 'this run has no true genres to compare with',
    );
  }
  let list: Array<BrowsedMovie & { genreCorrect?: boolean }> = m.movies;
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
