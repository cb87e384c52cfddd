/**
 * Synthetic training data with a learnable signal, in the trainer's own format: for tests and
 * benchmarks that must not wait for feature extraction. Each genre has a random direction per
 * input; a movie's features are the sum of its genres' directions plus noise.
 */
import { SeededRandom } from '../../src/util/random.js';
import type { SplitData, TrainingData } from '../../src/train/data.js';

export interface SyntheticOptions {
  /** Movies per split. */
  sizes?: { train: number; dev: number; test: number };
  /** Feature size of each input (default one input of 64). */
  dims?: number[];
  labels?: string[];
  seed?: number;
  /** Noise standard deviation relative to the signal (default 1). */
  noise?: number;
}

export function syntheticTrainingData(opts: SyntheticOptions = {}): TrainingData {
  const sizes = opts.sizes ?? { train: 400, dev: 100, test: 100 };
  const dims = opts.dims ?? [64];
  const labels = opts.labels ?? ['Drama', 'Comedy', 'Action', 'Horror', 'Romance', 'Documentary'];
  const L = labels.length;
  const rng = new SeededRandom(opts.seed ?? 1);
  const gauss = (): number => {
    const u = Math.max(rng.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
  };
  const directions = dims.map((d) =>
    Array.from({ length: L }, () => Float32Array.from({ length: d }, gauss)),
  );
  // Skewed genre frequencies, as in MM-IMDB: the first genres are far more common.
  const freq = labels.map((_, j) => 0.5 / (1 + j * 0.6));
  const noise = opts.noise ?? 1;
  let counter = 0;
  const split = (n: number): SplitData => {
    const y = new Uint8Array(n * L);
    const x = dims.map((d) => new Float32Array(n * d));
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(`syn${String(counter++).padStart(6, '0')}`);
      let any = false;
      for (let j = 0; j < L; j++) {
        if (rng.next() < freq[j]) {
          y[i * L + j] = 1;
          any = true;
        }
      }
      if (!any) y[i * L + Math.floor(rng.next() * L)] = 1;
      dims.forEach((d, k) => {
        const row = x[k].subarray(i * d, (i + 1) * d);
        for (let c = 0; c < d; c++) row[c] = noise * gauss();
        for (let j = 0; j < L; j++)
          if (y[i * L + j]) for (let c = 0; c < d; c++) row[c] += directions[k][j][c];
      });
    }
    return { ids, n, x, y, missing: dims.map(() => new Uint8Array(n)) };
  };
  return { labels, dims, train: split(sizes.train), dev: split(sizes.dev), test: split(sizes.test) };
}
