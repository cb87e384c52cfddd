/** HTTP errors of the API: every failure is a JSON `{error, message}` with a 4xx/5xx status. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { MmgenreError, type ErrorKind } from '../util/errors.js';

/** An error of the API itself (a bad query, an unknown run), with its exact HTTP status. */
export class HttpError extends MmgenreError {
  constructor(
    readonly statusCode: number,
    /** Short machine-readable code, e.g. 'not_an_image'. */
    readonly error: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(kindOfStatus(statusCode), message);
  }
}

function kindOfStatus(status: number): ErrorKind {
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 501) return 'unsupported';
  if (status === 503) return 'busy';
  return 'input';
}

/** `RunNotFoundError` → 'run_not_found': the machine-readable code of a library error. */
function errorCode(err: MmgenreError): string {
  if (err.name === 'MmgenreError') return err.kind.replace('-', '_');
  return err.name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/** Fastify's and @fastify/multipart's own error codes, in the API's words. */
const KNOWN: Record<string, { status: number; error: string; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'malformed_json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'empty_request', message: 'the JSON body is empty' },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    status: 413,
    error: 'payload_too_large',
    message: 'the request body is over the limit (posters up to 10 MB)',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message:
      'send multipart/form-data (poster file, plot field) or application/json ({plot, poster: base64})',
  },
  FST_REQ_FILE_TOO_LARGE: { status: 413, error: 'payload_too_large', message: 'the poster is over 10 MB' },
  FST_FILES_LIMIT: { status: 413, error: 'too_many_files', message: 'send one poster file' },
  FST_FIELDS_LIMIT: { status: 413, error: 'too_many_fields', message: 'too many form fields' },
  FST_PARTS_LIMIT: { status: 413, error: 'too_many_parts', message: 'too many form parts' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: {
    status: 415,
    error: 'unsupported_media_type',
    message: 'the request is not multipart',
  },
  FST_PROTO_VIOLATION: {
    status: 400,
    error: 'bad_request',
    message: 'prototype property is not allowed as a field name',
  },
  FST_MP_PREMATURE_CLOSE: { status: 400, error: 'bad_request', message: 'the upload was cut off' },
};

export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof HttpError) {
    const body: ErrorBody = { error: err.error, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return { status: err.statusCode, body };
  }
  // Every other user-facing error of the library (bad input, missing run, ...): its own status.
  if (err instanceof MmgenreError) {
    const body: ErrorBody = { error: errorCode(err), message: err.message };
    if (err.hint) body.details = { hint: err.hint };
    return { status: err.httpStatus, body };
  }
  const e = err as Partial<FastifyError>;
  const known = e.code ? KNOWN[e.code] : undefined;
  if (known)
    return {
      status: known.status,
      body: { error: known.error, message: known.message ?? String(e.message) },
    };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: { error: 'bad_request', message: String(e.message) } };
  }
  return { status: 500, body: { error: 'internal', message: e.message ?? 'internal error' } };
}

export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorBody(err);
  if (status >= 500) req.log.error({ err }, 'request failed');
  void reply.code(status).type('application/json').send(body);
}
