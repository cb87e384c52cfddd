/**
 * What travels through the queue, checked with zod on both ends. A job carries a shard's movies
 * (ids, plots, titles: small) and poster paths relative to the dataset folder, which every worker
 * sees at the same path (a shared filesystem); a worker never opens a path from a job that leads
 * outside that folder. Results go back through Redis as one binary value per shard.
 */
import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { Dataset, MovieRecord } from '../data/types.js';
import { QueueError } from './errors.js';

const MAX_RECORDS = 100_000;

const JobRecord = z
  .object({
    id: z.string().min(1).max(512),
    plot: z.string().max(1_000_000).nullable(),
    title: z.string().max(10_000).optional(),
    companies: z.array(z.string().max(10_000)).max(10_000).optional(),
    /** Poster path relative to the job's dataset folder, or null. */
    poster: z.string().min(1).max(4096).nullable(),
  })
  .strict();
export type JobRecord = z.infer<typeof JobRecord>;

const runKey = z.string().regex(/^[0-9a-f]{16,64}$/);
const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => isAbsolute(p) && !p.includes('\0'), 'must be an absolute path');

/** Encoder options that name files are refused: a job must not steer a worker's file access. */
export function fileOption(options: Record<string, unknown>): string | undefined {
  return Object.keys(options).find((k) => /path|dir|file|url/i.test(k));
}

const ComputerSpecSchema = z
  .object({
    kind: z.enum(['dense', 'sequence']),
    encoderName: z.string().regex(/^[\w.-]{1,100}$/),
    options: z
      .record(z.string(), z.unknown())
      .refine((o) => fileOption(o) === undefined, 'encoder options naming files are not accepted'),
    // Only built-in encoders: a job never names a module for a worker to import.
    module: z.literal(''),
    dtype: z.enum(['float32', 'float16']),
    dim: z.number().int().min(0).max(100_000_000),
    batchSize: z.number().int().min(1).max(65_536),
  })
  .strict();

export const FeaturesJobData = z
  .object({
    kind: z.literal('features'),
    run: runKey,
    root: absolutePath,
    spec: ComputerSpecSchema,
    modality: z.enum(['poster', 'plot', 'title', 'companies']),
    chunks: z
      .array(
        z
          .object({
            index: z.number().int().min(0),
            start: z.number().int().min(0),
            end: z.number().int().min(1),
            records: z.array(JobRecord).max(MAX_RECORDS),
          })
          .strict()
          .refine((c) => c.end - c.start === c.records.length, 'chunk rows and records disagree'),
      )
      .min(1)
      .max(4096),
  })
  .strict();
export type FeaturesJobData = z.infer<typeof FeaturesJobData>;

export const PredictJobData = z
  .object({
    kind: z.literal('predict'),
    run: runKey,
    root: absolutePath,
    /** The run folder (on the shared filesystem) whose model predicts. */
    model: absolutePath,
    records: z.array(JobRecord).min(1).max(MAX_RECORDS),
  })
  .strict();
export type PredictJobData = z.infer<typeof PredictJobData>;

export const JobData = z.discriminatedUnion('kind', [FeaturesJobData, PredictJobData]);
export type JobData = z.infer<typeof JobData>;

/** What the worker returns through BullMQ: where the shard's result lies. */
export const JobReturn = z.object({ result: z.string().min(1).max(1024), bytes: z.number().int() }).strict();
export type JobReturn = z.infer<typeof JobReturn>;

const stringMap = z.record(z.string(), z.string());

export const FeaturesResultHeader = z
  .object({
    chunks: z.array(
      z
        .object({
          index: z.number().int().min(0),
          start: z.number().int().min(0),
          end: z.number().int().min(1),
          bytes: z.number().int().min(0),
          errors: stringMap,
          contentHashes: stringMap,
          values: z.number().int().min(0).optional(),
        })
        .strict(),
    ),
  })
  .strict();
export type FeaturesResultHeader = z.infer<typeof FeaturesResultHeader>;

export const PredictResult = z
  .object({
    rows: z.array(
      z.object({ id: z.string(), scores: z.record(z.string(), z.number().min(0).max(1)) }).passthrough(),
    ),
    skipped: z.array(
      z.object({ id: z.string(), missing: z.array(z.object({ input: z.string(), reason: z.string() })) }),
    ),
    missingByInput: z.record(z.string(), z.number().int().min(0)),
  })
  .strict();
export type PredictResult = z.infer<typeof PredictResult>;

/** One binary value: 4-byte little-endian header length, the header as JSON, then raw bytes. */
export function packResult(header: unknown, parts: Uint8Array[] = []): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return Buffer.concat([len, json, ...parts]);
}

export function unpackResult(buf: Buffer): { header: unknown; data: Buffer } {
  if (buf.length < 4) throw new Error('shard result is truncated');
  const n = buf.readUInt32LE(0);
  if (4 + n > buf.length) throw new Error('shard result is truncated');
  return {
    header: JSON.parse(buf.subarray(4, 4 + n).toString('utf8')) as unknown,
    data: buf.subarray(4 + n),
  };
}

/** The folder a dataset's files lie in (a dataset given as a file, e.g. a TMDB csv: its folder). */
export function datasetFolder(dataset: Pick<Dataset, 'root'>): string {
  const root = resolve(dataset.root);
  try {
    return statSync(root).isDirectory() ? root : dirname(root);
  } catch {
    return dirname(root);
  }
}

/** Coordinator side: a record as a job carries it (poster relative to the dataset folder). */
export function toJobRecord(r: MovieRecord, folder: string): JobRecord {
  let poster: string | null = null;
  if (r.posterPath) {
    poster = relative(folder, resolve(r.posterPath));
    if (poster === '' || poster.startsWith('..') || isAbsolute(poster)) {
      throw new QueueError(
        `movie ${r.id}: its poster ${r.posterPath} lies outside the dataset folder ${folder}, which is all queue workers may read`,
        'keep the posters inside the dataset folder, or run without --queue',
      );
    }
  }
  return {
    id: r.id,
    plot: r.plot,
    ...(r.title !== undefined ? { title: r.title } : {}),
    ...(r.companies !== undefined ? { companies: r.companies } : {}),
    poster,
  };
}

/** A folder is within one of `allowed` (all absolute). */
export function isWithin(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Worker side: the record an encoder reads, or why its poster path is refused. Paths are checked
 * lexically: a relative path that stays inside the dataset folder (a symlink the dataset itself
 * holds is the dataset's business; a job cannot create one).
 */
export function fromJobRecord(r: JobRecord, folder: string): { record: MovieRecord; refused?: string } {
  let posterPath: string | null = null;
  let refused: string | undefined;
  if (r.poster !== null) {
    const p = resolve(folder, r.poster);
    if (isAbsolute(r.poster) || r.poster.includes('\0') || !isWithin(p, folder) || p === folder)
      refused = 'poster path refused: it leads outside the dataset folder';
    else posterPath = p;
  }
  const record: MovieRecord = {
    id: r.id,
    plot: r.plot,
    genres: [],
    posterPath,
    meta: {},
    ...(r.title !== undefined ? { title: r.title } : {}),
    ...(r.companies !== undefined ? { companies: r.companies } : {}),
  };
  return { record, refused };
}
