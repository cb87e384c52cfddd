/** `data stats`: descriptive statistics of a loaded dataset (splits, genres, label cardinality, plots, posters). */
import pLimit from 'p-limit';
import { progress } from '../util/progress.js';
import { formatTable } from './table.js';
import { SPLITS, type Dataset, type SplitName } from './types.js';
import { hdf5FileOf, hdf5SourceOf } from './hdf5-source.js';

export interface Distribution {
  count: number;
  mean: number;
  min: number;
  p5: number;
  median: number;
  p95: number;
  max: number;
}

export interface DatasetStats {
  name: string;
  format: Dataset['format'];
  movies: number;
  perSplit: Record<SplitName, number>;
  genres: Array<{ genre: string; total: number; share: number } & Record<SplitName, number>>;
  /** Mean number of genres per movie, overall and per split. */
  labelCardinality: { all: number } & Record<SplitName, number>;
  /** Plot length in words (IMDb's `::author` suffix not counted), over movies with a plot. */
  plotWords: Distribution;
  posters: {
    /** Posters whose header sharp could read. */
    read: number;
    unreadable: number;
    width: Distribution;
    height: Distribution;
    /** The most frequent sizes, most frequent first. */
    commonSizes: Array<{ width: number; height: number; count: number }>;
  };
}

/** Statistics of `ds`. Poster sizes come from image headers (sharp metadata), not a full decode. */
export async function datasetStats(ds: Dataset, opts: { progress?: boolean } = {}): Promise<DatasetStats> {
  const splitOf = new Map<string, SplitName>();
  for (const s of SPLITS) for (const id of ds.splits[s]) splitOf.set(id, s);

  const genres = ds.labels.map((genre) => ({ genre, total: 0, share: 0, train: 0, dev: 0, test: 0 }));
  const index = new Map(ds.labels.map((g, i) => [g, i]));
  const cardSum = { all: 0, train: 0, dev: 0, test: 0 };
  for (const r of ds.records) {
    const s = splitOf.get(r.id);
    cardSum.all += r.genres.length;
    if (s) cardSum[s] += r.genres.length;
    for (const g of r.genres) {
      const row = genres[index.get(g) ?? -1];
      if (!row) continue;
      row.total++;
      if (s) row[s]++;
    }
  }
  for (const g of genres) g.share = ds.records.length ? g.total / ds.records.length : 0;
  const perSplit = { train: ds.splits.train.length, dev: ds.splits.dev.length, test: ds.splits.test.length };
  const ratio = (a: number, b: number): number => (b ? a / b : 0);

  // An HDF5 file holds no plot text nor image files: its plots are `sequences` rows (one id per
  // word) and its posters rows of `images`, all of the file's one size.
  const h5 = hdf5FileOf(ds.records) ? await hdf5InputSizes(ds, opts) : null;
  const plotWords = distribution(
    h5?.plotWords ?? ds.records.filter((r) => r.plot !== null).map((r) => plotWordCount(r.plot as string)),
  );

  const { default: sharp } = await import('sharp');
  const posters = ds.records.filter((r) => r.posterPath !== null).map((r) => r.posterPath as string);
  if (h5?.posterSize) for (let k = 0; k < h5.posterSize.count; k++) posters.push('');
  const bar = opts.progress ? progress('reading poster sizes', posters.length, { unit: 'img' }) : null;
  const limit = pLimit(16);
  const sizes = await Promise.all(
    posters.map((p) =>
      limit(async () => {
        if (p === '') return h5?.posterSize ?? null;
        try {
          const m = await sharp(p).metadata();
          return m.width && m.height ? { width: m.width, height: m.height } : null;
        } catch {
          return null;
        } finally {
          bar?.tick();
        }
      }),
    ),
  );
  bar?.stop();
  const ok = sizes.filter((s): s is { width: number; height: number } => s !== null);
  const sizeCount = new Map<string, { width: number; height: number; count: number }>();
  for (const s of ok) {
    const key = `${s.width}x${s.height}`;
    const e = sizeCount.get(key) ?? { ...s, count: 0 };
    e.count++;
    sizeCount.set(key, e);
  }

  return {
    name: ds.name,
    format: ds.format,
    movies: ds.records.length,
    perSplit,
    genres,
    labelCardinality: {
      all: ratio(cardSum.all, ds.records.length),
      train: ratio(cardSum.train, perSplit.train),
      dev: ratio(cardSum.dev, perSplit.dev),
      test: ratio(cardSum.test, perSplit.test),
    },
    plotWords,
    posters: {
      read: ok.length,
      unreadable: sizes.length - ok.length,
      width: distribution(ok.map((s) => s.width)),
      height: distribution(ok.map((s) => s.height)),
      commonSizes: [...sizeCount.values()]
        .sort((a, b) => b.count - a.count || a.width - b.width || a.height - b.height)
        .slice(0, 5),
    },
  };
}

/** Plot lengths (`sequences` rows, read in blocks) and the poster size (`images`) of an HDF5 file's movies. */
async function hdf5InputSizes(
  ds: Dataset,
  opts: { progress?: boolean },
): Promise<{
  plotWords: number[] | null;
  posterSize: { width: number; height: number; count: number } | null;
}> {
  const { hdf5Dataset, readSequenceRows } = await import('./hdf5-rows.js');
  const sources = ds.records.flatMap((r) => hdf5SourceOf(r) ?? []);
  const file = sources[0].file;
  const has = async (name: string): Promise<boolean> =>
    hdf5Dataset(file, name).then(
      () => true,
      () => false,
    );
  let plotWords: number[] | null = null;
  if (await has('sequences')) {
    plotWords = [];
    const bar = opts.progress ? progress('reading plot lengths', sources.length, { unit: 'rows' }) : null;
    const block = 4096;
    for (let s = 0; s < sources.length; s += block) {
      const part = sources.slice(s, s + block);
      for (const seq of await readSequenceRows(
        file,
        part.map((p) => p.index),
      ))
        if (seq.length > 0) plotWords.push(seq.length);
      bar?.tick(part.length);
    }
    bar?.stop();
  }
  let posterSize: { width: number; height: number; count: number } | null = null;
  if (await has('images')) {
    const shape = (await hdf5Dataset(file, 'images')).shape ?? [];
    if (shape.length === 4) posterSize = { width: shape[3], height: shape[2], count: sources.length };
  }
  return { plotWords, posterSize };
}

/**
 * Words of a plot, IMDb's `::author` signatures not counted. Same rule as stripAuthor in
 * text/tokenize.ts, repeated here so that data stats does not load the wink-nlp model.
 */
export function plotWordCount(plot: string): number {
  const t = plot.replace(/::[^\n]{0,200}?(?=[ \t]*(?:\r?\n|$))/g, '').trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

/** Summary of a sample; quantiles interpolate linearly between order statistics (numpy's default). */
export function distribution(values: number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: NaN, min: NaN, p5: NaN, median: NaN, p95: NaN, max: NaN };
  const v = Float64Array.from(values).sort();
  const q = (p: number): number => {
    const pos = p * (v.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, v.length - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - lo);
  };
  let sum = 0;
  for (const x of v) sum += x;
  return {
    count: v.length,
    mean: sum / v.length,
    min: v[0],
    p5: q(0.05),
    median: q(0.5),
    p95: q(0.95),
    max: v[v.length - 1],
  };
}

/** The statistics as the plain-text tables `data stats` prints. */
export function formatStats(s: DatasetStats): string {
  const n = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');
  const out: string[] = [];
  out.push(`${s.name} (${s.format}): ${s.movies} movies`);
  out.push('');
  out.push(
    formatTable(
      ['split', 'movies', 'genres/movie'],
      [
        ...SPLITS.map((sp) => [sp, String(s.perSplit[sp]), n(s.labelCardinality[sp], 2)]),
        ['all', String(s.movies), n(s.labelCardinality.all, 2)],
      ],
      { align: ['left', 'right', 'right'] },
    ),
  );
  out.push('');
  out.push(
    formatTable(
      ['genre', 'total', 'share', 'train', 'dev', 'test'],
      s.genres.map((g) => [
        g.genre,
        String(g.total),
        `${n(100 * g.share)}%`,
        String(g.train),
        String(g.dev),
        String(g.test),
      ]),
      { align: ['left', 'right', 'right', 'right', 'right', 'right'] },
    ),
  );
  out.push('');
  const dist = (name: string, d: Distribution): string[] => [
    name,
    String(d.count),
    n(d.mean),
    n(d.min, 0),
    n(d.p5, 0),
    n(d.median, 0),
    n(d.p95, 0),
    n(d.max, 0),
  ];
  out.push(
    formatTable(
      ['measure', 'count', 'mean', 'min', 'p5', 'median', 'p95', 'max'],
      [
        dist('plot words', s.plotWords),
        dist('poster width (px)', s.posters.width),
        dist('poster height (px)', s.posters.height),
      ],
      { align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'] },
    ),
  );
  out.push('');
  out.push(
    `most common poster sizes: ${
      s.posters.commonSizes.map((c) => `${c.width}x${c.height} (${c.count})`).join(', ') || '-'
    }${s.posters.unreadable ? `; ${s.posters.unreadable} poster header(s) unreadable` : ''}`,
  );
  return out.join('\n') + '\n';
}
