/**
 * Two small real encoders for the feature-cache tests (the cache must not care which encoder it
 * runs): poster colour statistics computed with sharp, and a hashed bag of words over plots.
 * Importing this module registers them, with this module's URL so worker threads can too.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Dataset, SplitName } from '../../src/data/types.js';
import { registerEncoder } from '../../src/features/registry.js';
import type { Encoder } from '../../src/features/types.js';

export const IMAGE_STATS = 'test-image-stats';
export const TEXT_HASH = 'test-text-hash';

/** A 4×4 RGB thumbnail (48 values) + per-channel mean and standard deviation (6): 54 values in [0, 1]. */
function imageStatsEncoder(options: Record<string, unknown> = {}): Encoder {
  const size = typeof options.size === 'number' ? options.size : 4;
  const dim = size * size * 3 + 6;
  return {
    name: IMAGE_STATS,
    modality: 'poster',
    key: `image-stats|size=${size}|v1`,
    dim,
    rowShape: [dim],
    async init() {},
    async encode(records) {
      return Promise.all(
        records.map(async (r) => {
          if (!r.posterPath) return { error: 'no poster' };
          try {
            const img = sharp(r.posterPath, { failOn: 'error' }).removeAlpha().toColourspace('srgb');
            const [{ data }, stats] = await Promise.all([
              img.clone().resize(size, size, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true }),
              img.clone().stats(),
            ]);
            const v = new Float32Array(dim);
            for (let i = 0; i < data.length; i++) v[i] = data[i] / 255;
            stats.channels.slice(0, 3).forEach((c, k) => {
              v[size * size * 3 + k] = c.mean / 255;
              v[size * size * 3 + 3 + k] = c.stdev / 255;
            });
            return v;
          } catch (err) {
            return { error: `cannot decode poster ${r.posterPath}: ${(err as Error).message}` };
          }
        }),
      );
    },
    dispose() {},
  };
}

/** Lower-cased words hashed (FNV-1a) into `dim` buckets, L2-normalised. */
function textHashEncoder(options: Record<string, unknown> = {}): Encoder {
  const dim = typeof options.dim === 'number' ? options.dim : 64;
  return {
    name: TEXT_HASH,
    modality: 'plot',
    key: `text-hash|dim=${dim}|v1`,
    dim,
    rowShape: [dim],
    async init() {},
    async encode(records) {
      return records.map((r) => {
        const words = (r.plot ?? '').toLowerCase().match(/[a-z']+/g);
        if (!words) return { error: 'no plot' };
        const v = new Float32Array(dim);
        for (const w of words) {
          let h = 0x811c9dc5;
          for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193) >>> 0;
          v[h % dim] += 1;
        }
        const norm = Math.hypot(...v);
        for (let i = 0; i < dim; i++) v[i] /= norm;
        return v;
      });
    },
    dispose() {},
  };
}

registerEncoder(IMAGE_STATS, imageStatsEncoder, { module: import.meta.url });
registerEncoder(TEXT_HASH, textHashEncoder, { module: import.meta.url });

/** The first `n` records of a dataset (splits filtered to match): fast tests on real data. */
export function subset(dataset: Dataset, n: number): Dataset {
  const records = dataset.records.slice(0, n);
  const keep = new Set(records.map((r) => r.id));
  const splits = Object.fromEntries(
    Object.entries(dataset.splits).map(([k, ids]) => [k, ids.filter((id) => keep.has(id))]),
  ) as Record<SplitName, string[]>;
  return { ...dataset, records, splits };
}

/**
 * A dataset folder in the MM-IMDB layout holding the given movies of the sample (symlinks to the
 * real files, so nothing is copied): lets a test run the CLI on a few real movies.
 */
export function sampleSubsetDir(sampleRoot: string, ids: Record<SplitName, string[]>, dir: string): string {
  mkdirSync(join(dir, 'dataset'), { recursive: true });
  for (const id of Object.values(ids).flat()) {
    for (const ext of ['json', 'jpeg']) {
      const src = join(sampleRoot, 'dataset', `${id}.${ext}`);
      if (existsSync(src)) symlinkSync(src, join(dir, 'dataset', `${id}.${ext}`));
    }
  }
  writeFileSync(join(dir, 'split.json'), JSON.stringify(ids));
  return dir;
}

/** The sample's split.json, with each split cut to its first n[split] ids. */
export function sampleSplits(
  sampleRoot: string,
  n: Partial<Record<SplitName, number>>,
): Record<SplitName, string[]> {
  const split = JSON.parse(readFileSync(join(sampleRoot, 'split.json'), 'utf8')) as Record<
    SplitName,
    string[]
  >;
  return {
    train: split.train.slice(0, n.train ?? 0),
    dev: split.dev.slice(0, n.dev ?? 0),
    test: split.test.slice(0, n.test ?? 0),
  };
}
