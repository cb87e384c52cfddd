/**
 * Raw inputs → the MovieRecords encoders read. Encoders take posters by path (the feature cache's
 * contract), so a poster given as bytes is written to a private temporary file for the call.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MovieRecord } from '../data/types.js';
import type { Modality } from '../features/types.js';
import type { PredictInput } from './types.js';

export interface PreparedRecords {
  records: MovieRecord[];
  /** Removes the temporary poster files. */
  cleanup(): void;
  /** Says 'the poster' instead of a temporary file's path in an encoder's error message. */
  clean(message: string): string;
}

export function toRecords(inputs: PredictInput[], idPrefix = 'input'): PreparedRecords {
  let dir: string | null = null;
  const make = (inp: PredictInput, i: number): MovieRecord => {
    let posterPath: string | null = null;
    if (typeof inp.poster === 'string') posterPath = inp.poster;
    else if (inp.poster) {
      dir ??= mkdtempSync(join(tmpdir(), 'mmgenre-predict-'));
      posterPath = join(dir, `${i}.img`);
      writeFileSync(posterPath, inp.poster);
    }
    return {
      id: `${idPrefix}-${i}`,
      title: inp.title,
      plot: inp.plot ?? null,
      genres: [],
      posterPath,
      companies: inp.companies,
      meta: {},
    };
  };
  let records: MovieRecord[];
  try {
    records = inputs.map(make);
  } catch (err) {
    // No temporary poster outlives a failed call.
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    records,
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    clean(message) {
      return dir
        ? message.replace(new RegExp(`${escapeRegExp(dir)}/\\d+\\.img`, 'g'), 'the poster')
        : message;
    },
  };
}

/** Whether the input of `modality` was given at all (an empty plot counts as not given). */
export function isGiven(inp: PredictInput, modality: Modality): boolean {
  switch (modality) {
    case 'poster':
      return (
        inp.poster !== undefined &&
        inp.poster !== null &&
        (typeof inp.poster === 'string' ? inp.poster !== '' : inp.poster.length > 0)
      );
    case 'plot':
      return typeof inp.plot === 'string' && inp.plot.trim() !== '';
    case 'title':
      return typeof inp.title === 'string' && inp.title.trim() !== '';
    case 'companies':
      return Array.isArray(inp.companies) && inp.companies.length > 0;
  }
}

export const MODALITIES: readonly Modality[] = ['poster', 'plot', 'title', 'companies'];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
