/**
 * Which HDF5 row a record reads: records loaded from an MM-IMDB HDF5 file carry `meta.hdf5File`
 * and `meta.hdf5Index`. Kept apart from the reader (hdf5-rows.ts) so the feature cache can stamp
 * such records without loading the HDF5 library.
 */
import { statSync } from 'node:fs';
import type { MovieRecord } from './types.js';

export interface Hdf5Source {
  file: string;
  index: number;
}

/** Where a record's row lives, or null for a record that did not come from an HDF5 file. */
export function hdf5SourceOf(record: MovieRecord): Hdf5Source | null {
  const file = record.meta?.hdf5File;
  const index = record.meta?.hdf5Index;
  return typeof file === 'string' && typeof index === 'number' ? { file, index } : null;
}

/** The HDF5 file the records of a dataset come from (null when they do not). */
export function hdf5FileOf(records: readonly MovieRecord[]): string | null {
  for (const r of records) {
    const s = hdf5SourceOf(r);
    if (s) return s.file;
  }
  return null;
}

/** Size and modification time of the file: a change invalidates every cached row read from it. */
export function hdf5Stamp(path: string): string {
  try {
    const st = statSync(path);
    return `hdf5:${st.size}:${Math.round(st.mtimeMs)}`;
  } catch {
    return 'hdf5:unreadable';
  }
}
