/** Small datasets with real files (sharp-made images), each holding known problems, for the data tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../helpers/shared.js';

export async function jpeg(width = 64, height = 96, seed = 0): Promise<Buffer> {
  // A gradient-ish image rather than a flat colour, so the JPEG has real scan data to cut.
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + seed * 31 + ((i / 3) % width)) & 0xff;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function png(width = 40, height = 60): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .png()
    .toBuffer();
}

export async function gif(width = 30, height = 45): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 10, g: 200, b: 10 } } })
    .gif()
    .toBuffer();
}

export const GOOD_IDS = ['1000001', '1000002', '1000003', '1000004'];

/**
 * An MM-IMDB folder whose good movies are GOOD_IDS (plus the partly-good ones listed below),
 * with one file per bad case:
 * - 2000001 truncated JPEG (cut in half)         → poster dropped, plot kept
 * - 2000002 PNG under .jpeg                      → accepted with a warning
 * - 2000003 GIF under .jpeg                      → accepted with a warning
 * - 2000004 invalid JSON                         → dropped
 * - 2000005 empty plot                           → plot dropped, poster kept
 * - 2000006 no plot key                          → plot dropped, poster kept
 * - 2000007 only unknown genres (News)           → dropped
 * - 2000008 no .jpeg                             → poster dropped, plot kept
 * - 2000009 listed in split.json, no files       → dropped
 * - 2000010 in train and test                    → kept once, in train
 * - 2000011 files present, in no split           → not loaded, warning
 * - 2000012 a text file named .jpeg              → poster dropped, plot kept
 * - 2000013 Drama + News                         → News left out (warning), kept
 * - 2000014 empty plot and no poster             → dropped (no usable input)
 */
export async function makeBadMmimdb(): Promise<string> {
  const root = tempDir('mmgenre-bad-mmimdb-');
  const ds = join(root, 'dataset');
  mkdirSync(ds);
  const movie = (id: string, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      title: `Movie ${id}`,
      genres: ['Drama', 'Comedy'],
      plot: ['A short plot.', `The longest plot of movie ${id}, about a family and a dog.::someone`],
      year: 1999,
      'some new key': { nested: true },
      ...extra,
    });
  const put = (name: string, data: string | Buffer): void => writeFileSync(join(ds, name), data);

  for (const [k, id] of GOOD_IDS.entries()) {
    put(`${id}.json`, movie(id));
    put(`${id}.jpeg`, await jpeg(64, 96, k));
  }
  const full = await jpeg(120, 180, 9);
  put('2000001.json', movie('2000001'));
  put('2000001.jpeg', full.subarray(0, Math.floor(full.length / 2)));
  put('2000002.json', movie('2000002'));
  put('2000002.jpeg', await png());
  put('2000003.json', movie('2000003'));
  put('2000003.jpeg', await gif());
  put(
    '2000004.json',
    '{\n  "title": "Broken",\n  "genres": ["Drama"],\n  "plot": ["x"]\n  "year": 2001\n}\n',
  );
  put('2000004.jpeg', await jpeg());
  put('2000005.json', movie('2000005', { plot: ['', '   '] }));
  put('2000005.jpeg', await jpeg());
  put('2000006.json', JSON.stringify({ title: 'No plot', genres: ['Horror'] }));
  put('2000006.jpeg', await jpeg());
  put('2000007.json', movie('2000007', { genres: ['News'] }));
  put('2000007.jpeg', await jpeg());
  put('2000008.json', movie('2000008'));
  put('2000010.json', movie('2000010'));
  put('2000010.jpeg', await jpeg());
  put('2000011.json', movie('2000011'));
  put('2000011.jpeg', await jpeg());
  put('2000012.json', movie('2000012'));
  put('2000012.jpeg', 'this is not an image\n');
  put('2000013.json', movie('2000013', { genres: ['Drama', 'News'] }));
  put('2000013.jpeg', await jpeg());
  put('2000014.json', movie('2000014', { plot: [''] }));

  writeFileSync(
    join(root, 'split.json'),
    JSON.stringify({
      train: ['1000001', '1000002', '2000001', '2000002', '2000003', '2000004', '2000010', '2000014'],
      dev: ['1000003', '2000005', '2000006', '2000007'],
      test: ['1000004', '2000008', '2000009', '2000010', '2000012', '2000013'],
    }),
  );
  return root;
}

/** TMDB columns, in the order of The Movies Dataset. */
const COLUMNS =
  'adult,belongs_to_collection,budget,genres,homepage,id,imdb_id,original_language,original_title,overview,popularity,poster_path,production_companies,production_countries,release_date,revenue,runtime,spoken_languages,status,tagline,title,video,vote_average,vote_count';

function csvField(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export interface TmdbRow {
  id: string;
  imdb?: string;
  title?: string;
  overview?: string;
  genres?: string;
  companies?: string;
  poster?: string;
  adult?: string;
}

export function tmdbLine(r: TmdbRow): string {
  const cells: Record<string, string> = {
    adult: r.adult ?? 'False',
    belongs_to_collection: '',
    budget: '0',
    genres: r.genres ?? "[{'id': 18, 'name': 'Drama'}]",
    homepage: '',
    id: r.id,
    imdb_id: r.imdb ?? '',
    original_language: 'en',
    original_title: r.title ?? `Title ${r.id}`,
    overview: r.overview ?? `Overview of movie ${r.id}, with a comma.`,
    popularity: '1.5',
    poster_path: r.poster ?? '',
    production_companies: r.companies ?? '[]',
    production_countries: '[]',
    release_date: '1995-01-01',
    revenue: '0',
    runtime: '90.0',
    spoken_languages: '[]',
    status: 'Released',
    tagline: '',
    title: r.title ?? `Title ${r.id}`,
    video: 'False',
    vote_average: '6.0',
    vote_count: '10',
  };
  return COLUMNS.split(',')
    .map((c) => csvField(cells[c]))
    .join(',');
}

/**
 * A TMDB folder. Rows by the CSV line they start on (1 = header; the row on line 3 spans two lines):
 * 2  good, poster present (tt0000002)
 * 3  good, two-line overview with quotes, no poster_path (tt0000003)
 * 5  Science Fiction; companies with an escaped apostrophe and a double-quoted name; poster present
 * 6  broken genres literal (unclosed list)                      → dropped
 * 7  shifted row (id is a date, adult holds text)               → dropped
 * 8  too few fields                                             → dropped
 * 9  empty overview, poster present                             → plot dropped, kept
 * 10 'No overview found.' and no poster                         → dropped (no usable input)
 * 11 duplicate of line 2 (same imdb id)                         → dropped, warning
 * 12 genres []                                                  → dropped
 * 13 poster_path names a missing file, no imdb id (tmdb-12)     → poster dropped, kept
 * 14 a PNG under .jpg; genres include an unknown name           → kept with two warnings
 * 15 truncated JPEG poster                                      → poster dropped (when decoded)
 * 16 broken production_companies                               → companies empty, kept
 */
export async function makeBadTmdb(): Promise<string> {
  const root = tempDir('mmgenre-bad-tmdb-');
  const posters = join(root, 'posters');
  mkdirSync(posters);
  writeFileSync(join(posters, 'good2.jpg'), await jpeg(50, 75, 2));
  writeFileSync(join(posters, 'good4.jpg'), await jpeg(50, 75, 4));
  writeFileSync(join(posters, 'good8.jpg'), await jpeg(50, 75, 8));
  writeFileSync(join(posters, 'png13.jpg'), await png());
  const full = await jpeg(120, 180, 14);
  writeFileSync(join(posters, 'cut14.jpg'), full.subarray(0, Math.floor(full.length / 2)));
  writeFileSync(join(posters, 'good15.jpg'), await jpeg(50, 75, 15));

  const comedyRomance = "[{'id': 35, 'name': 'Comedy'}, {'id': 10749, 'name': 'Romance'}]";
  const lines = [
    COLUMNS,
    tmdbLine({ id: '2', imdb: 'tt0000002', genres: comedyRomance, poster: '/good2.jpg' }),
    tmdbLine({ id: '3', imdb: 'tt0000003', overview: 'First line,\nsecond "quoted" line.' }),
    tmdbLine({
      id: '4',
      imdb: 'tt0000004',
      poster: '/good4.jpg',
      genres: "[{'id': 878, 'name': 'Science Fiction'}]",
      companies: `[{'name': 'Club d\\'Investissement', 'id': 1}, {'name': "Workin' Man Films", 'id': 2}]`,
    }),
    tmdbLine({ id: '5', imdb: 'tt0000005', genres: "[{'id': 18, 'name': 'Drama'}" }),
    tmdbLine({ id: '1997-08-20', imdb: '0', adult: ' - Written by Ørnås' }),
    "False,,0,\"[{'id': 18, 'name': 'Drama'}]\",,7,tt0000007,en",
    tmdbLine({ id: '8', imdb: 'tt0000008', overview: '', poster: '/good8.jpg' }),
    tmdbLine({ id: '9', imdb: 'tt0000009', overview: 'No overview found.' }),
    tmdbLine({ id: '10', imdb: 'tt0000002', title: 'Duplicate' }),
    tmdbLine({ id: '11', imdb: 'tt0000011', genres: '[]' }),
    tmdbLine({ id: '12', imdb: '', poster: '/absent12.jpg' }),
    tmdbLine({
      id: '13',
      imdb: 'tt0000013',
      poster: '/png13.jpg',
      genres: "[{'id': 18, 'name': 'Drama'}, {'id': 1, 'name': 'Carousel Productions'}]",
    }),
    tmdbLine({ id: '14', imdb: 'tt0000014', poster: '/cut14.jpg' }),
    tmdbLine({ id: '15', imdb: 'tt0000015', poster: '/good15.jpg', companies: "[{'name': 'Open" }),
  ];
  writeFileSync(join(root, 'movies_metadata.csv'), lines.join('\n') + '\n');
  return root;
}
