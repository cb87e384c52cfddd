/**
 * `data synth`: a synthetic dataset in the MM-IMDB directory layout (split.json +
 * dataset/<id>.json + dataset/<id>.jpeg) whose posters and plots carry a learnable genre signal.
 * Deterministic: the same options give byte-identical files. Resumable: every file is written
 * atomically and each movie is generated from its own seed, so an interrupted run picks up where
 * it stopped; split.json is written last and marks a complete dataset.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { MMIMDB_GENRES } from './genres.js';
import { SPLITS, type SplitName } from './types.js';
import { createRng, deriveSeed, type Rng } from '../util/random.js';
import { genreStyle, type GenreStyle } from './synth-genres.js';
import { generatePlot, generateTitle } from './synth-plot.js';
import { drawPoster } from './synth-poster.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { progress } from '../util/progress.js';

export interface SynthOptions {
  out: string;
  n: number;
  seed: number;
  /** Label set (default: the 23 MM-IMDB genres). Unknown names get generated styles. */
  labels?: readonly string[];
  /** Poster size in pixels (default 320 wide, 450–490 high like IMDb posters). */
  width?: number;
  /** Silence the progress bar. */
  silent?: boolean;
}

export interface SynthCounts {
  train: number;
  dev: number;
  test: number;
  /** Movies per genre (all splits). */
  perGenre: Record<string, number>;
  /** Mean number of genres per movie. */
  cardinality: number;
}

export interface SynthResult {
  out: string;
  n: number;
  seed: number;
  labels: string[];
  counts: SynthCounts;
  /** Movies whose files were already there from an interrupted run with the same options. */
  reused: number;
}

/** Written first to the output directory: identifies the options so a re-run can resume safely. */
const MANIFEST = 'synth.json';
const GENERATOR_VERSION = 1;
/** MM-IMDB's split sizes (15,552 / 2,608 / 7,799 of 25,959 movies) as ratios. */
const SPLIT_RATIOS: Record<SplitName, number> = {
  train: 15552 / 25959,
  dev: 2608 / 25959,
  test: 7799 / 25959,
};
/** Genres per movie: 1, 2 or 3 with these probabilities. */
const CARDINALITY_WEIGHTS = [0.35, 0.4, 0.25];
/** Flattening of MM-IMDB's genre frequencies: still skewed (Drama first) but rare genres stay learnable. */
const FREQUENCY_EXPONENT = 0.75;

interface PlannedMovie {
  id: string;
  /** Label indices, primary genre first. */
  genres: number[];
}

export function synthId(index: number): string {
  return String(9_000_000 + index).padStart(7, '0');
}

/** Draw each movie's genres: skewed like MM-IMDB, 1–3 per movie, every label covered a few times when n allows. */
function planGenres(rng: Rng, n: number, labels: readonly string[], styles: GenreStyle[]): PlannedMovie[] {
  const L = labels.length;
  const baseWeights = styles.map((s) => Math.pow(s.frequency, FREQUENCY_EXPONENT));
  const minEach = Math.min(3, Math.floor(n / (2 * L)));
  const forcedOrder = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const forced = new Map<number, number>();
  for (let k = 0; k < minEach * L; k++) forced.set(forcedOrder[k], k % L);
  const movies: PlannedMovie[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.min(L, 1 + rng.weighted(CARDINALITY_WEIGHTS));
    const weights = baseWeights.slice();
    const genres: number[] = [];
    const f = forced.get(i);
    if (f !== undefined) {
      genres.push(f);
      weights[f] = 0;
    }
    while (genres.length < k) {
      const g = rng.weighted(weights);
      genres.push(g);
      weights[g] = 0;
    }
    movies.push({ id: synthId(i), genres });
  }
  return movies;
}

/**
 * MM-IMDB's split procedure (make_dataset.py of the paper's code) walks the genres from the
 * rarest and splits each genre's not-yet-assigned movies. It rounds each genre's share up
 * (ceil 30% test, ceil 10% dev), which on a small dataset sends most movies to test and dev;
 * here each movie instead goes to the split furthest below its running quota, so every size
 * keeps the paper's ratios overall while rare genres still spread over the splits.
 */
function assignSplits(rng: Rng, movies: PlannedMovie[], L: number): Record<SplitName, string[]> {
  const counts = new Array<number>(L).fill(0);
  for (const m of movies) for (const g of m.genres) counts[g]++;
  const order = Array.from({ length: L }, (_, g) => g).sort((a, b) => counts[a] - counts[b] || a - b);
  const assigned = new Set<number>();
  const splits: Record<SplitName, string[]> = { train: [], dev: [], test: [] };
  for (const g of order) {
    const members = rng.shuffle(
      movies.map((m, i) => (m.genres.includes(g) && !assigned.has(i) ? i : -1)).filter((i) => i >= 0),
    );
    for (const i of members) {
      assigned.add(i);
      const total = assigned.size;
      let best: SplitName = 'train';
      let bestDeficit = -Infinity;
      for (const split of SPLITS) {
        const deficit = SPLIT_RATIOS[split] * total - splits[split].length;
        if (deficit > bestDeficit) {
          best = split;
          bestDeficit = deficit;
        }
      }
      splits[best].push(movies[i].id);
    }
  }
  return splits;
}

interface Manifest {
  generator: 'mmgenre-synth';
  version: number;
  n: number;
  seed: number;
  labels: string[];
  width: number;
}

function checkOutputDir(out: string, manifest: Manifest): void {
  if (!existsSync(out)) return;
  const path = join(out, MANIFEST);
  if (existsSync(path)) {
    let existing: unknown;
    try {
      existing = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      existing = null;
    }
    if (JSON.stringify(existing) !== JSON.stringify(manifest)) {
      throw new Error(
        `${out} already holds a synthetic dataset made with other options (${path}); use another output directory or remove it`,
      );
    }
    return;
  }
  const entries = readdirSync(out).filter((e) => !e.startsWith('.'));
  if (entries.length > 0) {
    throw new Error(
      `${out} is not empty and holds no ${MANIFEST}; refusing to write a synthetic dataset into it`,
    );
  }
}

/** Generate one movie's JSON and raw poster pixels from its own seed. */
function generateMovie(
  seed: number,
  index: number,
  movie: PlannedMovie,
  labels: readonly string[],
  styles: GenreStyle[],
  width: number,
): { json: Record<string, unknown>; pixels: Uint8Array; height: number } {
  const rng = createRng(deriveSeed(seed, index));
  const movieStyles = movie.genres.map((g) => styles[g]);
  const primary = movieStyles[0];
  const title = generateTitle(rng, primary);
  const plots = [generatePlot(rng, rng.int(4, 9), { styles: movieStyles })];
  if (rng.next() < 0.5) plots.push(generatePlot(rng, rng.int(2, 4), { styles: movieStyles }));
  // IMDb appends "::author" to plot summaries; the text pipeline strips it.
  if (rng.next() < 0.5) plots[0] += '::mmgenre-synth';
  const [y0, y1] = primary.years;
  const genres = movie.genres
    .slice()
    .sort((a, b) => a - b)
    .map((g) => labels[g]);
  const json = {
    title,
    kind: 'movie',
    year: rng.int(y0, y1),
    genres,
    plot: plots,
    'plot outline': plots[0].split('. ')[0].replace(/::.*$/, '') + '.',
    synthetic: true,
  };
  const height = Math.round(width * rng.range(1.4, 1.53));
  const pixels = drawPoster(rng, { width, height, styles: movieStyles });
  return { json, pixels, height };
}

/** Write a synthetic dataset of `n` movies to `out` (see the module comment). */
export async function synthesizeDataset(opts: SynthOptions): Promise<SynthResult> {
  const { n, seed } = opts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`n must be a positive integer (got ${n})`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new Error(`seed must be an integer in [0, 2^32) (got ${seed})`);
  const labels = [...(opts.labels ?? MMIMDB_GENRES)];
  if (labels.length === 0) throw new Error('labels must not be empty');
  if (new Set(labels).size !== labels.length) throw new Error('labels must be distinct');
  const width = opts.width ?? 320;
  if (!Number.isInteger(width) || width < 32) throw new Error(`width must be an integer ≥ 32 (got ${width})`);
  const out = resolve(opts.out);
  const manifest: Manifest = {
    generator: 'mmgenre-synth',
    version: GENERATOR_VERSION,
    n,
    seed,
    labels,
    width,
  };
  checkOutputDir(out, manifest);
  const datasetDir = join(out, 'dataset');
  mkdirSync(datasetDir, { recursive: true });
  writeJsonAtomic(join(out, MANIFEST), manifest);

  const styles = labels.map((l, i) => genreStyle(l, i));
  const planRng = createRng(deriveSeed(seed, 0xda7a));
  const movies = planGenres(planRng, n, labels, styles);
  const splits = assignSplits(planRng, movies, labels.length);

  const bar = progress('synth', n, { unit: 'movies', silent: opts.silent });
  let reused = 0;
  // sharp encodes on libuv's thread pool: keep a few encodes in flight while the next poster is drawn.
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = 4;
  for (let i = 0; i < n; i++) {
    const movie = movies[i];
    const jsonPath = join(datasetDir, `${movie.id}.json`);
    const jpegPath = join(datasetDir, `${movie.id}.jpeg`);
    if (existsSync(jsonPath) && existsSync(jpegPath)) {
      reused++;
      bar.tick();
      continue;
    }
    const { json, pixels, height } = generateMovie(seed, i, movie, labels, styles, width);
    const task = sharp(pixels, { raw: { width, height, channels: 3 } })
      .jpeg({ quality: 85, chromaSubsampling: '4:2:0' })
      .toBuffer()
      .then((jpeg) => {
        writeFileAtomic(jpegPath, jpeg);
        // The JSON goes second: a movie counts as written once both files exist.
        writeJsonAtomic(jsonPath, json);
        bar.tick();
      });
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task)).catch(() => undefined);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  bar.stop();
  writeJsonAtomic(join(out, 'split.json'), splits);

  const perGenre: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  let total = 0;
  for (const m of movies) {
    for (const g of m.genres) perGenre[labels[g]]++;
    total += m.genres.length;
  }
  return {
    out,
    n,
    seed,
    labels,
    counts: {
      train: splits.train.length,
      dev: splits.dev.length,
      test: splits.test.length,
      perGenre,
      cardinality: total / n,
    },
    reused,
  };
}
