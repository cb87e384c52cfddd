/**
 * Checksums on the files mmgenre writes and reads back (checkpoints, saved models, exported ONNX
 * models): each file gets a `<file>.sha256` beside it, in `sha256sum` format (so that
 * `sha256sum -c` checks it too), and reading it back verifies the bytes. A file written before
 * checksums existed has no sidecar and is read as it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { MmgenreError } from './errors.js';

export class CorruptFileError extends MmgenreError {
  constructor(
    readonly path: string,
    detail: string,
    /** What the user can do: rebuild, delete, retrain. */
    fix: string,
  ) {
    super('input', `${path} is corrupt: ${detail}`, { hint: fix });
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function checksumPath(path: string): string {
  return `${path}.sha256`;
}

/** Write `data` atomically, then its checksum beside it. */
export function writeFileWithChecksum(path: string, data: Uint8Array | string): void {
  writeFileAtomic(path, data);
  writeChecksum(path, sha256Hex(data));
}

export function writeChecksum(path: string, hex: string): void {
  writeFileAtomic(checksumPath(path), `${hex}  ${basename(path)}\n`);
}

/** The recorded SHA-256 of `path`, or null when it has no checksum file. */
export function recordedChecksum(path: string): string | null {
  const side = checksumPath(path);
  if (!existsSync(side)) return null;
  return readFileSync(side, 'utf8').trim().split(/\s+/)[0]?.toLowerCase() || null;
}

/**
 * Throw CorruptFileError (naming the file and `fix`) when `path`'s bytes (`data`, or the digest
 * `hex` when already computed) differ from its recorded checksum.
 */
export function verifyChecksum(path: string, data: Uint8Array | string | { hex: string }, fix: string): void {
  const want = recordedChecksum(path);
  if (want === null) return;
  const got = typeof data === 'object' && 'hex' in data ? data.hex : sha256Hex(data);
  if (got !== want) {
    throw new CorruptFileError(
      path,
      `its SHA-256 (${got.slice(0, 12)}…) differs from the one recorded when it was written (${basename(checksumPath(path))}: ${want.slice(0, 12)}…)`,
      fix,
    );
  }
}
