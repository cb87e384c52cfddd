/**
 * The 23 MM-IMDB genres in the order of Arevalo et al. 2017 (Table 3), the label order of
 * every 23-column matrix in mmgenre. News, Adult, Talk-Show and Reality-TV are dropped,
 * as the paper did.
 */
export const MMIMDB_GENRES = [
  'Drama',
  'Comedy',
  'Romance',
  'Thriller',
  'Crime',
  'Action',
  'Adventure',
  'Horror',
  'Documentary',
  'Mystery',
  'Sci-Fi',
  'Fantasy',
  'Family',
  'Biography',
  'War',
  'History',
  'Music',
  'Animation',
  'Musical',
  'Western',
  'Sport',
  'Short',
  'Film-Noir',
] as const;

export type MmimdbGenre = (typeof MMIMDB_GENRES)[number];

/** Genres that appear in IMDb data but that the paper removed from the label set. */
export const MMIMDB_DROPPED_GENRES = ['News', 'Adult', 'Talk-Show', 'Reality-TV'] as const;

/**
 * TMDB genre names that differ from MM-IMDB's. TMDB datasets keep their own label set;
 * this map is only used to line the two up (e.g. for a model trained on one and run on the other).
 * TMDB genres absent here (`TV Movie`, `Foreign`) have no MM-IMDB counterpart.
 */
export const TMDB_TO_MMIMDB: Record<string, MmimdbGenre | null> = {
  'Science Fiction': 'Sci-Fi',
  'TV Movie': null,
  Foreign: null,
};

/** Multi-hot vector of `genres` over `labels` (unknown genres are ignored). */
export function multiHot(genres: readonly string[], labels: readonly string[]): Uint8Array {
  const v = new Uint8Array(labels.length);
  for (const g of genres) {
    const i = labels.indexOf(g);
    if (i >= 0) v[i] = 1;
  }
  return v;
}
