import { MmgenreError, type ErrorKind, type MmgenreErrorOptions } from '../util/errors.js';

/** A wrong command line (a bad option value, a missing file): printed without a stack trace. */
export class CliError extends MmgenreError {
  constructor(message: string, kind: ErrorKind = 'input', options?: MmgenreErrorOptions) {
    super(kind, message, options);
  }
}

/** Exit status of an error that is not an `MmgenreError`: a bug, not something the user did. */
export const UNEXPECTED_EXIT_CODE = 1;

/**
 * The CLI's one error handler. A user-facing error prints its message (and hint) on one or two
 * lines; anything else is a bug and prints one line plus how to see the stack (`--debug`).
 * Returns the exit status.
 */
export function reportError(err: unknown, debug: boolean, write: (s: string) => void): number {
  if (err instanceof MmgenreError) {
    write(`mmgenre: ${err.message}\n`);
    if (err.hint) write(`  ${err.hint}\n`);
    if (debug && err.stack) write(`${err.stack}\n`);
    return err.exitCode;
  }
  if (debug) {
    write(`mmgenre: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return UNEXPECTED_EXIT_CODE;
  }
  write(`mmgenre: unexpected error: ${firstLine(err)}\n  run with --debug for the stack\n`);
  return UNEXPECTED_EXIT_CODE;
}

/** The first line of an error's message, cut short: minified library code can put kilobytes on one line. */
function firstLine(err: unknown): string {
  const text =
    err instanceof Error ? `${err.name === 'Error' ? '' : `${err.name}: `}${err.message}` : String(err);
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
