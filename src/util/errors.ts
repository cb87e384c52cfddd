/**
 * The one base of every error a user can cause or fix: bad input, a bad config, a missing prerequisite,
 * an unsupported option. Each carries the CLI's exit code and the API's HTTP status, so the CLI and the
 * server map errors in one place each and print them without a stack trace. Anything that is not an
 * `MmgenreError` is a bug: the CLI prints one line and points to `--debug`, the server answers 500.
 */
export type ErrorKind =
  | 'input'
  | 'config'
  | 'prerequisite'
  | 'unsupported'
  | 'not-found'
  | 'conflict'
  | 'busy'
  | 'interrupted';

const EXIT_CODES: Record<ErrorKind, number> = {
  input: 2,
  config: 2,
  prerequisite: 3,
  unsupported: 2,
  'not-found': 4,
  conflict: 5,
  busy: 6,
  interrupted: 130,
};

const HTTP_STATUSES: Record<ErrorKind, number> = {
  input: 400,
  config: 400,
  prerequisite: 409,
  unsupported: 400,
  'not-found': 404,
  conflict: 409,
  busy: 503,
  interrupted: 503,
};

export interface MmgenreErrorOptions {
  /** What the user can do about it, printed on its own line after the message. */
  hint?: string;
  cause?: unknown;
}

export class MmgenreError extends Error {
  readonly kind: ErrorKind;
  readonly hint?: string;

  constructor(kind: ErrorKind, message: string, options: MmgenreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.hint = options.hint;
  }

  /** The CLI's exit status for this error. */
  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }

  /** The API's HTTP status for this error. */
  get httpStatus(): number {
    return HTTP_STATUSES[this.kind];
  }
}

export function isMmgenreError(err: unknown): err is MmgenreError {
  return err instanceof MmgenreError;
}
