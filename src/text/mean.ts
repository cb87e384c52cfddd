/** Mean of word vectors: the paper's strongest text representation. */
import { wordRow, type WordVectors } from './glove.js';

/**
 * Mean of the vectors of the known tokens, or null when no token is known (the caller records
 * the input as missing: a zero vector would pretend to be data).
 */
export function meanVector(tokens: string[], vectors: WordVectors): Float32Array | null {
  const dim = vectors.dim;
  const sum = new Float64Array(dim);
  let known = 0;
  for (const t of tokens) {
    const r = wordRow(vectors, t);
    if (r < 0) continue;
    known++;
    const off = r * dim;
    for (let d = 0; d < dim; d++) sum[d] += vectors.matrix[off + d];
  }
  if (known === 0) return null;
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = sum[d] / known;
  return out;
}
