/** The body of POST /api/predict → a PredictInput: multipart (poster file, plot field) or JSON (poster as base64). */
import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';
import { z } from 'zod';
import { sniffImageBytes } from '../data/image-sniff.js';
import type { PredictInput, ThresholdKind } from '../predict/types.js';
import { HttpError } from './errors.js';

/** Largest poster accepted, as uploaded bytes. */
export const MAX_POSTER_BYTES = 10 * 1024 * 1024;
const MAX_TEXT = 100_000;

export interface ParsedPredictRequest {
  input: PredictInput;
  threshold?: ThresholdKind;
}

const jsonBody = z.strictObject({
  plot: z.string().max(MAX_TEXT).optional(),
  title: z.string().max(1000).optional(),
  /** Base64 (a data: URL prefix is accepted). */
  poster: z.string().optional(),
  threshold: z.enum(['0.5', 'tuned']).optional(),
});

function parseThreshold(v: unknown): ThresholdKind | undefined {
  if (v === undefined || v === '') return undefined;
  if (v === '0.5' || v === 'tuned') return v;
  throw new HttpError(400, 'bad_threshold', `threshold must be "0.5" or "tuned", got ${JSON.stringify(v)}`);
}

function decodeBase64(s: string): Buffer {
  const data = s.replace(/^data:[\w/+.-]+;base64,/, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) {
    throw new HttpError(400, 'bad_base64', 'poster must be the image file encoded as base64');
  }
  if ((data.length * 3) / 4 > MAX_POSTER_BYTES + 3) {
    throw new HttpError(413, 'payload_too_large', 'the poster is over 10 MB');
  }
  return Buffer.from(data, 'base64');
}

/** Refuse what is not an image (415) or is an image that cannot be read (422), before predicting. */
export async function checkPoster(bytes: Buffer): Promise<void> {
  if (bytes.length > MAX_POSTER_BYTES)
    throw new HttpError(413, 'payload_too_large', 'the poster is over 10 MB');
  if (!sniffImageBytes(bytes.subarray(0, 16))) {
    throw new HttpError(
      415,
      'not_an_image',
      'the poster is not an image: send a JPEG, PNG, GIF or WebP file',
    );
  }
  try {
    const meta = await sharp(bytes, { failOn: 'error' }).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size');
  } catch (err) {
    throw new HttpError(422, 'unreadable_image', `the poster cannot be decoded: ${(err as Error).message}`);
  }
}

/**
 * A body busboy cannot read (no boundary, cut before its closing boundary, a broken header) is the
 * client's fault: 400, not 500. Limits and our own refusals keep their status.
 */
async function fromMultipart(req: FastifyRequest): Promise<ParsedPredictRequest> {
  try {
    return await readMultipart(req);
  } catch (err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (err instanceof HttpError || (typeof status === 'number' && status < 500)) throw err;
    throw new HttpError(
      400,
      'malformed_multipart',
      `the multipart/form-data body cannot be read (${(err as Error).message}): send a poster file part and a plot field`,
    );
  }
}

async function readMultipart(req: FastifyRequest): Promise<ParsedPredictRequest> {
  const input: PredictInput = {};
  let threshold: ThresholdKind | undefined;
  for await (const part of req.parts()) {
    if (part.type === 'file') {
      if (part.fieldname !== 'poster') {
        await part.toBuffer(); // drain it
        throw new HttpError(
          400,
          'unexpected_file',
          `unexpected file field "${part.fieldname}": send the image as "poster"`,
        );
      }
      const bytes = await part.toBuffer();
      if (bytes.length > 0) input.poster = bytes;
      continue;
    }
    const value = typeof part.value === 'string' ? part.value : String(part.value ?? '');
    if (value.length > MAX_TEXT)
      throw new HttpError(413, 'payload_too_large', `field "${part.fieldname}" is too long`);
    if (part.fieldname === 'plot') input.plot = value;
    else if (part.fieldname === 'title') input.title = value;
    else if (part.fieldname === 'threshold') threshold = parseThreshold(value);
  }
  return { input, threshold };
}

function fromJson(body: unknown): ParsedPredictRequest {
  if (body === undefined || body === null)
    throw new HttpError(400, 'empty_request', 'the request has no body');
  const r = jsonBody.safeParse(body);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new HttpError(
      400,
      'bad_request',
      `expected {plot?: string, poster?: base64 string, title?, threshold?}: ${why}`,
    );
  }
  const input: PredictInput = {};
  if (r.data.plot !== undefined) input.plot = r.data.plot;
  if (r.data.title !== undefined) input.title = r.data.title;
  if (r.data.poster) input.poster = decodeBase64(r.data.poster);
  return { input, threshold: r.data.threshold };
}

export async function parsePredictRequest(req: FastifyRequest): Promise<ParsedPredictRequest> {
  const type = String(req.headers['content-type'] ?? '');
  if (!req.isMultipart() && type !== '' && !/^application\/json\b/i.test(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `cannot read ${type.split(';')[0]}: send multipart/form-data (poster file, plot field) or application/json ({plot, poster: base64})`,
    );
  }
  const parsed = req.isMultipart() ? await fromMultipart(req) : fromJson(req.body);
  const q = req.query as Record<string, string | undefined>;
  parsed.threshold ??= parseThreshold(q.threshold);
  const { input } = parsed;
  const hasPlot = typeof input.plot === 'string' && input.plot.trim() !== '';
  const hasTitle = typeof input.title === 'string' && input.title.trim() !== '';
  if (!input.poster && !hasPlot && !hasTitle) {
    throw new HttpError(400, 'empty_request', 'nothing to predict from: send a poster and/or a plot');
  }
  if (input.poster) await checkPoster(input.poster as Buffer);
  return parsed;
}
