import { MmgenreError } from '../util/errors.js';

/** A queue URL that cannot be used, or a Redis server that cannot be reached. */
export class QueueError extends MmgenreError {
  constructor(message: string, hint?: string) {
    super('prerequisite', message, { hint });
  }
}

export interface UnprocessedMovie {
  id: string;
  reason: string;
}

/** Shards that failed for good: their movies were not processed (the rest were, and are kept). */
export class UnprocessedMoviesError extends MmgenreError {
  constructor(readonly movies: UnprocessedMovie[]) {
    const shown = movies.slice(0, 20).map((m) => `  ${m.id}: ${m.reason}`);
    if (movies.length > 20) shown.push(`  ... and ${movies.length - 20} more`);
    super('input', `${movies.length} movie(s) could not be processed:\n${shown.join('\n')}`, {
      hint: 'what was processed is kept: fix the cause and run the same command again to do the rest',
    });
  }
}
