import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

/** Thrown when a path is not a dataset at all (as opposed to a dataset with bad records). */
export class DatasetFormatError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}
