/** One entry point for every dataset layout: detects the format and delegates to its loader. */
import { existsSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { z } from 'zod';
import { checkArgument } from '../util/validate.js';
import type { Dataset, DatasetFormat, LoadOptions } from './types.js';
import { DatasetFormatError } from './format-error.js';

// The loaders import these from their own files, so no loader imports this dispatcher back.
export { DatasetFormatError } from './format-error.js';
export type { LoadOptions } from './types.js';

/**
 * Which layout `path` holds: `split.json` + `dataset/` → 'mmimdb-dir'; a `.csv` file or a
 * folder with `movies_metadata.csv` → 'tmdb'; a `.hdf5`/`.h5` file → 'mmimdb-hdf5'.
 * Returns null when it is none of these.
 */
export function detectFormat(path: string): DatasetFormat | null {
  const p = resolve(path);
  if (!existsSync(p)) return null;
  const st = statSync(p);
  if (st.isFile()) {
    const ext = extname(p).toLowerCase();
    if (ext === '.csv') return 'tmdb';
    if (ext === '.hdf5' || ext === '.h5') return 'mmimdb-hdf5';
    if (p.endsWith('split.json')) return 'mmimdb-dir';
    return null;
  }
  if (existsSync(join(p, 'split.json')) && existsSync(join(p, 'dataset'))) return 'mmimdb-dir';
  if (existsSync(join(p, 'movies_metadata.csv'))) return 'tmdb';
  if (existsSync(join(p, 'multimodal_imdb.hdf5'))) return 'mmimdb-hdf5';
  return null;
}

/** Load a dataset of any supported layout. Bad records become `issues`; only a non-dataset path throws. */
const loadOptionsSchema = z
  .object({
    format: z.enum(['mmimdb-dir', 'synthetic', 'tmdb', 'mmimdb-hdf5']).optional(),
    verifyPosters: z.boolean().optional(),
    seed: z.number().int().optional(),
    progress: z.boolean().optional(),
  })
  .loose();

export async function loadDataset(path: string, opts: LoadOptions = {}): Promise<Dataset> {
  checkArgument(z.string().min(1), path, 'loadDataset(path)');
  checkArgument(loadOptionsSchema, opts ?? {}, 'loadDataset(path, options)');
  const p = resolve(path);
  if (!existsSync(p)) throw new DatasetFormatError(`no such file or directory: ${p}`);
  const format = opts.format ?? detectFormat(p);
  if (!format) {
    throw new DatasetFormatError(
      `${p} is not a dataset: expected an MM-IMDB folder (split.json + dataset/), ` +
        `a TMDB movies_metadata.csv (or a folder holding one), or an MM-IMDB .hdf5 file`,
    );
  }
  switch (format) {
    case 'mmimdb-dir':
    case 'synthetic': {
      const { loadMmimdbDir } = await import('./mmimdb-dir.js');
      const root = statSync(p).isFile() ? resolve(p, '..') : p;
      const ds = await loadMmimdbDir(root, opts);
      return format === 'synthetic' ? { ...ds, format } : ds;
    }
    case 'tmdb': {
      const { loadTmdb } = await import('./tmdb.js');
      return loadTmdb(p, opts);
    }
    case 'mmimdb-hdf5': {
      // Imported when needed: h5wasm is loaded only for an HDF5 file.
      const { loadMmimdbHdf5 } = await import('./hdf5.js');
      const file = statSync(p).isDirectory() ? join(p, 'multimodal_imdb.hdf5') : p;
      return loadMmimdbHdf5(file, opts);
    }
  }
}
