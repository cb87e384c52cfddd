/**
 * Arguments of the library's public entry points, checked with zod (as configs are): a wrong type
 * or value is an InvalidArgumentError naming the argument, never a raw TypeError from deep inside
 * or a value silently ignored.
 */
import type { z } from 'zod';
import { MmgenreError } from './errors.js';

export class InvalidArgumentError extends MmgenreError {
  constructor(message: string) {
    super('input', message);
  }
}

/** `value` parsed by `schema`, or InvalidArgumentError saying which part of `what` is wrong. */
export function checkArgument<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`)
    .join('; ');
  throw new InvalidArgumentError(`${what}: ${issues}`);
}
