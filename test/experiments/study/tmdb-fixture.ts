/**
 * A small TMDB-layout dataset written for the grid tests: movies_metadata.csv with genres,
 * overviews, titles and companies that depend on the genre, sharp-made posters for some of the
 * movies (coloured by genre), one malformed row and one movie without an overview.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { tempDir } from '../../helpers/shared.js';

const GENRES = [
  {
    id: 35,
    name: 'Comedy',
    words: 'funny wedding party laughs friends prank',
    company: 'Happy Pictures',
    rgb: [240, 200, 40],
  },
  {
    id: 27,
    name: 'Horror',
    words: 'ghost haunted blood night terror killer',
    company: 'Dark Studio',
    rgb: [60, 10, 10],
  },
  {
    id: 10749,
    name: 'Romance',
    words: 'love heart kiss marriage passion letter',
    company: 'Rose Films',
    rgb: [230, 90, 150],
  },
] as const;

export interface TmdbFixture {
  root: string;
  movies: number;
  withPoster: number;
}

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** Writes the dataset into a fresh temporary folder; `movies` good rows, every `posterEvery`-th without poster. */
export async function makeGridTmdb(movies = 40, posterEvery = 3): Promise<TmdbFixture> {
  const root = tempDir('mmgenre-grid-tmdb-');
  mkdirSync(join(root, 'posters'));
  const header = 'adult,genres,id,imdb_id,overview,poster_path,production_companies,title';
  const lines = [header];
  let withPoster = 0;
  for (let i = 0; i < movies; i++) {
    const g = GENRES[i % 3];
    const second = i % 5 === 0 ? GENRES[(i + 1) % 3] : null;
    const genres = [g, ...(second ? [second] : [])]
      .map((x) => `{'id': ${x.id}, 'name': '${x.name}'}`)
      .join(', ');
    const words = g.words.split(' ');
    const overview =
      i === 7
        ? ''
        : `A story of ${words[i % 6]} and ${words[(i + 2) % 6]}, then ${words[(i + 4) % 6]} in the city number ${i}.`;
    const title = `The ${words[(i + 1) % 6]} ${i}`;
    const companies = `[{'name': '${g.company}', 'id': ${g.id}}${i % 4 === 0 ? ", {'name': 'Big Distributor', 'id': 1}" : ''}]`;
    const hasPoster = i % posterEvery !== 0;
    let posterPath = '';
    if (hasPoster) {
      posterPath = `/p${i}.jpg`;
      const [r, gg, b] = g.rgb;
      await sharp({
        create: { width: 60, height: 90, channels: 3, background: { r: (r + i * 7) % 256, g: gg, b } },
      })
        .jpeg()
        .toFile(join(root, 'posters', `p${i}.jpg`));
      withPoster++;
    }
    lines.push(
      [
        'False',
        quote(`[${genres}]`),
        String(1000 + i),
        `tt${String(9000000 + i)}`,
        quote(overview),
        posterPath,
        quote(companies),
        quote(title),
      ].join(','),
    );
  }
  // A malformed row (too few fields): reported by the loader, never fatal.
  lines.push("False,\"[{'id': 35, 'name': 'Comedy'}]\",9999");
  writeFileSync(join(root, 'movies_metadata.csv'), lines.join('\n') + '\n');
  return { root, movies, withPoster };
}
