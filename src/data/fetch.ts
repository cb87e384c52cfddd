/**
 * `data fetch`: download MM-IMDB (the authors' archive, or their HDF5 file) with a progress bar,
 * resume after an interruption (HTTP Range into a `.part` file), size and checksum checks, and
 * extraction. A file only gets its final name once it is complete and verified, so a file under
 * the final name is never partial, and a second run does not download it again.
 */
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { once } from 'node:events';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { env } from '../env.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { progress } from '../util/progress.js';
import { extractArchive, findMmimdbRoot, isTarArchive } from './archive.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

export interface RemoteFile {
  url: string;
  /** Lower-case hex SHA-256, when known: the download is rejected if it differs. */
  sha256?: string;
  /** Size in bytes, when known (checked in addition to Content-Length). */
  size?: number;
}

/**
 * Where MM-IMDB is published: the archive and HDF5 file of Arevalo et al. 2017 on archive.org.
 * Configurable: pass `url` (CLI: --url) or set MMGENRE_MMIMDB_URL / MMGENRE_MMIMDB_HDF5_URL, e.g.
 * for a mirror. No checksum is pinned because none is published with the files; pass one
 * (--sha256) to have it verified, and every download prints the SHA-256 it got.
 */
export const MMIMDB_SOURCES: { archive: RemoteFile; hdf5: RemoteFile } = {
  archive: { url: env.mmimdbUrl },
  hdf5: { url: env.mmimdbHdf5Url },
};

export interface DownloadOptions extends RemoteFile {
  /** Final path of the file; the partial download is `${dest}.part`. */
  dest: string;
  /** Reconnect this many times after a dropped connection, resuming each time (default 5). */
  retries?: number;
  /** Wait before the first retry, doubled each time (default 1000 ms). */
  retryDelayMs?: number;
  /** Abort a connection that delivers no data for this long (default 60 s). */
  stallTimeoutMs?: number;
  silent?: boolean;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** The file was already complete (and matched the checksum, if one was given): nothing downloaded. */
  skipped: boolean;
  /** Bytes that came from an earlier, interrupted attempt (kept via a Range request). */
  resumedFrom: number;
  /** HTTP requests made. */
  requests: number;
}

/** A download that cannot succeed by retrying (bad status, size or checksum): exit 2, like bad input. */
export class DownloadError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}

/** What is remembered beside a `.part` file so a resumed request can insist on the same remote file. */
interface PartMeta {
  url: string;
  total: number | null;
  etag: string | null;
  lastModified: string | null;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

function readPartMeta(path: string): PartMeta | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PartMeta;
  } catch {
    return null;
  }
}

/** Parse `bytes start-end/total` (total may be `*`). */
function parseContentRange(value: string | null): { start: number; total: number | null } | null {
  const m = value?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  if (!m) return null;
  return { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Download `url` to `dest` with resume, retries, size and checksum checks (see the module comment). */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const dest = resolve(opts.dest);
  const part = `${dest}.part`;
  const metaPath = `${dest}.part.json`;
  const expectedSha = opts.sha256?.toLowerCase();
  if (expectedSha !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha)) {
    throw new DownloadError(`sha256 must be 64 hex digits (got "${opts.sha256}")`);
  }
  mkdirSync(dirname(dest), { recursive: true });

  if (existsSync(dest)) {
    const sha = await sha256File(dest);
    if (expectedSha && sha !== expectedSha) {
      throw new DownloadError(
        `${dest} exists but its SHA-256 is ${sha}, not ${expectedSha}; remove it to download it again`,
      );
    }
    return { path: dest, bytes: sizeOf(dest), sha256: sha, skipped: true, resumedFrom: 0, requests: 0 };
  }

  const retries = opts.retries ?? 5;
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  let meta = readPartMeta(metaPath);
  // A part file from another URL is not ours to continue.
  if (existsSync(part) && (!meta || meta.url !== opts.url)) {
    rmSync(part, { force: true });
    meta = null;
  }
  const resumedFrom = sizeOf(part);
  let requests = 0;
  let attempt = 0;
  let total: number | null = meta?.total ?? opts.size ?? null;

  for (;;) {
    const have = sizeOf(part);
    if (total !== null && have === total) break;
    if (total !== null && have > total) {
      rmSync(part, { force: true });
      continue;
    }
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      // If the remote file changed since the part was written, the server sends all of it (200).
      const validator = meta?.etag ?? meta?.lastModified;
      if (validator) headers['if-range'] = validator;
    }
    const controller = new AbortController();
    let stallTimer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs);
    const resetStall = (): void => {
      clearTimeout(stallTimer);
      stallTimer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs);
    };
    let bar: ReturnType<typeof progress> | null = null;
    try {
      requests++;
      const res = await fetch(opts.url, { headers, signal: controller.signal, redirect: 'follow' });
      let append: boolean;
      if (res.status === 206) {
        const range = parseContentRange(res.headers.get('content-range'));
        if (!range || range.start !== have) {
          // Not the range we asked for: start over rather than splice mismatched bytes.
          await res.body?.cancel();
          rmSync(part, { force: true });
          continue;
        }
        total = range.total ?? total;
        append = true;
      } else if (res.status === 200) {
        // No Range support (or the file changed): restart from zero, never append a full body.
        const length = res.headers.get('content-length');
        total = length !== null ? Number(length) : (opts.size ?? null);
        append = false;
      } else if (res.status === 416 && have > 0) {
        await res.body?.cancel();
        const range = res.headers.get('content-range')?.match(/\/(\d+)$/);
        if (range && Number(range[1]) === have) {
          total = have;
          break;
        }
        rmSync(part, { force: true });
        continue;
      } else {
        await res.body?.cancel();
        throw new DownloadError(`HTTP ${res.status} ${res.statusText} for ${opts.url}`);
      }
      if (opts.size !== undefined && total !== null && total !== opts.size) {
        await res.body?.cancel();
        throw new DownloadError(`${opts.url} is ${total} bytes, expected ${opts.size}`);
      }
      if (!res.body) throw new Error('empty response body');
      meta = {
        url: opts.url,
        total,
        etag: res.headers.get('etag'),
        lastModified: res.headers.get('last-modified'),
      };
      writeJsonAtomic(metaPath, meta);
      const start = append ? have : 0;
      const label = `download ${basename(dest)}${start > 0 ? ` (resuming at ${(start / 2 ** 20).toFixed(1)} MiB)` : ''}`;
      bar = progress(label, total !== null ? Math.ceil((total - start) / 2 ** 20) : 0, {
        unit: 'MiB',
        silent: opts.silent,
      });
      let pending = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          resetStall();
          pending += chunk.length;
          if (pending >= 2 ** 20) {
            bar?.tick(Math.floor(pending / 2 ** 20));
            pending %= 2 ** 20;
          }
          done(null, chunk);
        },
      });
      // Write at an explicit offset (not O_APPEND) after cutting the file to what was counted, so
      // bytes can never be spliced twice; wait for the file to close even when the transfer fails.
      if (append) truncateSync(part, start);
      const out = createWriteStream(part, append ? { flags: 'r+', start } : { flags: 'w' });
      const closed = once(out, 'close').catch(() => undefined);
      try {
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), meter, out);
      } finally {
        out.destroy();
        await closed;
      }
      if (total === null) total = sizeOf(part); // no length announced: whatever arrived is the file
      if (sizeOf(part) === total) break;
      throw new Error(`connection closed after ${sizeOf(part)} of ${total} bytes`);
    } catch (err) {
      if (err instanceof DownloadError) throw err;
      if (attempt >= retries) {
        const got = sizeOf(part);
        throw new DownloadError(
          `download of ${opts.url} interrupted (${err instanceof Error ? err.message : String(err)}); ` +
            `${got} bytes kept in ${part}: run again to resume`,
        );
      }
      attempt++;
      await sleep((opts.retryDelayMs ?? 1000) * 2 ** (attempt - 1));
    } finally {
      clearTimeout(stallTimer);
      bar?.stop();
    }
  }

  const bytes = sizeOf(part);
  if (opts.size !== undefined && bytes !== opts.size) {
    rmSync(part, { force: true });
    rmSync(metaPath, { force: true });
    throw new DownloadError(
      `${opts.url}: got ${bytes} bytes, expected ${opts.size}; the partial file was removed`,
    );
  }
  const sha = await sha256File(part);
  if (expectedSha && sha !== expectedSha) {
    // A wrong file is no base to resume from: remove it so the next run starts clean.
    rmSync(part, { force: true });
    rmSync(metaPath, { force: true });
    throw new DownloadError(
      `checksum mismatch for ${basename(dest)} from ${opts.url}: expected SHA-256 ${expectedSha}, got ${sha}; the download was removed`,
    );
  }
  renameSync(part, dest);
  rmSync(metaPath, { force: true });
  return { path: dest, bytes, sha256: sha, skipped: false, resumedFrom, requests };
}

export interface FetchMmimdbOptions {
  /** Target folder (default: <cache dir>/mmimdb). */
  dir?: string;
  /** Download the authors' HDF5 file (features, sequences, images) instead of the archive. */
  hdf5?: boolean;
  /** Override the URL of the chosen file. */
  url?: string;
  /** Expected SHA-256 of the chosen file. */
  sha256?: string;
  /** Extract the archive after the download (default true). */
  extract?: boolean;
  silent?: boolean;
  retries?: number;
  retryDelayMs?: number;
}

export interface FetchMmimdbResult {
  download: DownloadResult;
  /** The folder holding split.json + dataset/ after extraction (archive only). */
  datasetDir: string | null;
  /** False when the archive had already been extracted. */
  extracted: boolean;
}

export function defaultMmimdbDir(): string {
  return join(env.cacheDir, 'mmimdb');
}

/** Download (and extract) MM-IMDB into `dir`; idempotent and resumable. */
export async function fetchMmimdb(opts: FetchMmimdbOptions = {}): Promise<FetchMmimdbResult> {
  const dir = resolve(opts.dir ?? defaultMmimdbDir());
  const source = opts.hdf5 ? MMIMDB_SOURCES.hdf5 : MMIMDB_SOURCES.archive;
  const url = opts.url ?? source.url;
  let name: string;
  try {
    name =
      decodeURIComponent(basename(new URL(url).pathname)) ||
      (opts.hdf5 ? 'multimodal_imdb.hdf5' : 'mmimdb.tar.gz');
  } catch {
    throw new DownloadError(`not a valid URL: ${url}`);
  }
  const download = await downloadFile({
    url,
    dest: join(dir, name),
    sha256: opts.sha256 ?? (opts.url ? undefined : source.sha256),
    size: opts.url ? undefined : source.size,
    silent: opts.silent,
    retries: opts.retries,
    retryDelayMs: opts.retryDelayMs,
  });
  if (opts.hdf5 || opts.extract === false || !isTarArchive(download.path)) {
    return { download, datasetDir: null, extracted: false };
  }
  const { extracted } = await extractArchive(download.path, dir, { silent: opts.silent });
  const datasetDir = findMmimdbRoot(dir);
  if (!datasetDir) {
    throw new DownloadError(
      `${download.path} was extracted into ${dir} but holds no split.json + dataset/ (not MM-IMDB?)`,
    );
  }
  return { download, datasetDir, extracted };
}
