/**
 * Opening only regular files. A named pipe (FIFO), socket or device saved where a poster or a data
 * file is expected would block an open() or read() forever (a FIFO's open waits for a writer), and
 * on a server that stalls the event loop or a thread of libuv's pool. Files are opened with
 * O_NONBLOCK (which makes a FIFO's open return at once), then checked with fstat (after symlinks
 * are followed) before a byte is read.
 */
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { MmgenreError } from './errors.js';

const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export class NotRegularFileError extends MmgenreError {
  readonly code = 'ENOTREG';
  constructor(
    readonly path: string,
    /** e.g. 'a named pipe (FIFO)' */
    readonly what: string,
  ) {
    super('input', `${path} is ${what}, not a regular file`, {
      hint: 'replace it with the file itself (a named pipe or device cannot be read as data)',
    });
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}

/** An open handle on `path`, which must be a regular file (throws NotRegularFileError otherwise). */
export async function openRegular(path: string): Promise<FileHandle> {
  const fh = await open(path, FLAGS);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st));
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** The synchronous twin of openRegular: a file descriptor the caller closes. */
export function openRegularSync(path: string): number {
  const fd = openSync(path, FLAGS);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(path, kindOf(st));
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** The bytes of a regular file, read off the event loop. */
export async function readRegularFile(path: string): Promise<Buffer> {
  const fh = await openRegular(path);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
