/**
 * Extract a downloaded archive (.tar.gz, .tgz, .tar) with the `tar` package, resumably: entries
 * go to a staging folder beside the target, which is moved into place only once the whole
 * archive has been read, and a marker records that this archive was extracted.
 */
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import * as tar from 'tar';
import { writeJsonAtomic } from '../util/atomic.js';
import { progress } from '../util/progress.js';

export interface ArchiveExtractOptions {
  silent?: boolean;
}

export interface ArchiveExtractResult {
  /** Top-level entries the archive put in the target folder. */
  entries: string[];
  /** False when the marker showed that this archive had already been extracted here. */
  extracted: boolean;
}

export function isTarArchive(path: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(path);
}

function markerPath(dir: string, archive: string): string {
  return join(dir, `.extracted-${basename(archive)}.json`);
}

/** Extract `archive` into `dir` (created). Skipped when the same archive (size + mtime) was extracted there before. */
export async function extractArchive(
  archive: string,
  dir: string,
  opts: ArchiveExtractOptions = {},
): Promise<ArchiveExtractResult> {
  if (!isTarArchive(archive)) {
    throw new Error(`${archive}: unsupported archive type (expected .tar.gz, .tgz or .tar)`);
  }
  mkdirSync(dir, { recursive: true });
  const st = statSync(archive);
  const marker = markerPath(dir, archive);
  const stamp = { archive: basename(archive), size: st.size, mtimeMs: Math.round(st.mtimeMs) };
  if (existsSync(marker)) {
    try {
      const prev = JSON.parse(readFileSync(marker, 'utf8')) as typeof stamp & {
        entries: string[];
      };
      if (
        prev.size === stamp.size &&
        prev.mtimeMs === stamp.mtimeMs &&
        prev.entries.every((e) => existsSync(join(dir, e)))
      ) {
        return { entries: prev.entries, extracted: false };
      }
    } catch {
      // An unreadable marker: extract again.
    }
  }
  const staging = join(dir, `.extracting-${basename(archive)}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const bar = progress(`extract ${basename(archive)}`, Math.ceil(st.size / 1024), {
    unit: 'KiB',
    silent: opts.silent,
  });
  let pendingBytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      pendingBytes += chunk.length;
      if (pendingBytes >= 1024) {
        bar.tick(Math.floor(pendingBytes / 1024));
        pendingBytes %= 1024;
      }
      done(null, chunk);
    },
  });
  try {
    // strict: a corrupt or truncated archive is an error, not a warning; tar also refuses
    // absolute paths and `..` entries, so nothing lands outside the staging folder.
    await pipeline(createReadStream(archive), counter, tar.x({ cwd: staging, strict: true }));
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error(`${archive}: extraction failed (${err instanceof Error ? err.message : String(err)})`);
  } finally {
    bar.stop();
  }
  const entries = readdirSync(staging);
  for (const e of entries) {
    const target = join(dir, e);
    rmSync(target, { recursive: true, force: true });
    renameSync(join(staging, e), target);
  }
  rmSync(staging, { recursive: true, force: true });
  writeJsonAtomic(marker, { ...stamp, entries });
  return { entries, extracted: true };
}

/** The folder holding `split.json` + `dataset/` under `dir` (itself or up to two levels down), or null. */
export function findMmimdbRoot(dir: string): string | null {
  const isRoot = (d: string): boolean => existsSync(join(d, 'split.json')) && existsSync(join(d, 'dataset'));
  if (isRoot(dir)) return dir;
  for (const a of readdirSync(dir, { withFileTypes: true })) {
    if (!a.isDirectory() || a.name.startsWith('.')) continue;
    const p = join(dir, a.name);
    if (isRoot(p)) return p;
    for (const b of readdirSync(p, { withFileTypes: true })) {
      if (b.isDirectory() && isRoot(join(p, b.name))) return join(p, b.name);
    }
  }
  return null;
}
