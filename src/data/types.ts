/** Types shared by every dataset loader. */

export type SplitName = 'train' | 'dev' | 'test';
export const SPLITS: readonly SplitName[] = ['train', 'dev', 'test'];

/** One movie, whatever layout it came from. */
export interface MovieRecord {
  id: string;
  title?: string;
  /** The plot synopsis used as text input (for MM-IMDB: the longest plot, `::author` stripped later by the tokeniser). Null when absent or empty. */
  plot: string | null;
  /** Genres in the dataset's own label set (only known labels). */
  genres: string[];
  /** Absolute path of the poster image, or null when there is none (or it is unreadable, after validation). */
  posterPath: string | null;
  split?: SplitName;
  /** Extra structured inputs (TMDB): production companies etc. */
  companies?: string[];
  /** Everything else the source file carried, kept as-is (unknown keys are never rejected). */
  meta: Record<string, unknown>;
}

export type IssueKind =
  | 'invalid-json'
  | 'missing-json'
  | 'missing-plot'
  | 'empty-plot'
  | 'placeholder-plot'
  | 'missing-poster'
  | 'corrupt-poster'
  | 'poster-format-mismatch'
  | 'poster-too-large'
  | 'no-known-genre'
  | 'unknown-genre'
  | 'split-id-without-file'
  | 'file-not-in-split'
  | 'duplicate-id'
  | 'malformed-row'
  | 'malformed-field'
  | 'missing-field'
  | 'invalid-encoding'
  | 'no-usable-input'
  | 'other';

/** A problem found in one record (or file); loaders collect these and go on. */
export interface RecordIssue {
  kind: IssueKind;
  /** error: the record (or that input of it) cannot be used; warning: usable, but worth knowing. */
  severity: 'error' | 'warning';
  message: string;
  id?: string;
  file?: string;
  line?: number;
}

export type DatasetFormat = 'mmimdb-dir' | 'mmimdb-hdf5' | 'tmdb' | 'synthetic';

/** A loaded dataset: good records plus every problem found on the way. */
export interface Dataset {
  name: string;
  root: string;
  format: DatasetFormat;
  /** The label set, in column order (MM-IMDB: MMIMDB_GENRES). */
  labels: string[];
  records: MovieRecord[];
  /** Record ids per split; every id here is in `records`. */
  splits: Record<SplitName, string[]>;
  issues: RecordIssue[];
  /** How many records the source held before validation (CSV data rows; distinct ids in split.json). */
  scanned?: number;
}
