/** Poster file checks: a cheap magic-bytes sniff for every load, a full sharp decode on request. */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { NotRegularFileError, openRegular, openRegularSync } from '../util/regular-file.js';

export type ImageKind = 'jpeg' | 'png' | 'gif' | 'webp';

/**
 * The image format announced by the first bytes of a file, or null when it is none we accept.
 * Hand-written because it is four comparisons; a sniffing library would read the same bytes.
 */
export function sniffImageBytes(head: Uint8Array): ImageKind | null {
  const b = head;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'gif';
  if (
    b.length >= 12 &&
    String.fromCharCode(b[0], b[1], b[2], b[3]) === 'RIFF' &&
    String.fromCharCode(b[8], b[9], b[10], b[11]) === 'WEBP'
  ) {
    return 'webp';
  }
  return null;
}

/** Read the first bytes of `path` and sniff them. Throws only on I/O errors (e.g. the file is missing). */
export async function sniffImageFile(path: string): Promise<{ kind: ImageKind | null; size: number }> {
  const fh = await openRegular(path);
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const { size } = await fh.stat();
    return { kind: sniffImageBytes(head.subarray(0, bytesRead)), size };
  } finally {
    await fh.close();
  }
}

/** The synchronous twin of sniffImageFile, for bulk checks of many small reads (see checkPosters). */
export function sniffImageFileSync(path: string): { kind: ImageKind | null; size: number } {
  const fd = openRegularSync(path);
  try {
    const head = new Uint8Array(16);
    const bytesRead = readSync(fd, head, 0, head.length, 0);
    return { kind: sniffImageBytes(head.subarray(0, bytesRead)), size: fstatSync(fd).size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a file of the given kind stops before its format's end: JPEG's end-of-image marker
 * (FF D9), PNG's IEND chunk, GIF's trailer byte (3B), or the length a WebP's RIFF header announces.
 * Used to name the fault when libvips reports only "Unknown error" (see explainDecodeFailure).
 * Hand-written: a few byte comparisons at the end of the file; no library exposes this check.
 */
export function isCutShort(path: string, kind: ImageKind): boolean {
  const fd = openRegularSync(path);
  try {
    const size = fstatSync(fd).size;
    const tail = new Uint8Array(Math.min(12, size));
    readSync(fd, tail, 0, tail.length, size - tail.length);
    const end = (bytes: number[]) =>
      tail.length >= bytes.length && bytes.every((b, i) => tail[tail.length - bytes.length + i] === b);
    if (kind === 'jpeg') return !end([0xff, 0xd9]);
    if (kind === 'png') return !end([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
    if (kind === 'gif') return !end([0x3b]);
    const head = new Uint8Array(8);
    readSync(fd, head, 0, 8, 0);
    const riffSize = new DataView(head.buffer).getUint32(4, true);
    return size < riffSize + 8;
  } finally {
    closeSync(fd);
  }
}

/**
 * libvips keeps its error text per thread, so when several decodes run at once the text of a
 * failure is sometimes lost and sharp says only "Unknown error". This replaces that message with
 * what the file itself shows (cut short), or says plainly that no reason was given.
 */
export function explainDecodeFailure(message: string, path: string | undefined): string {
  if (!/^unknown error/i.test(message) || path === undefined) return message;
  try {
    const { kind } = sniffImageFileSync(path);
    if (kind && isCutShort(path, kind)) {
      const name = kind.toUpperCase();
      return `premature end of ${name} file: the file stops before the ${name} end marker (libvips gave no text)`;
    }
  } catch {
    // Unreadable now: fall through to the plain message.
  }
  return 'libvips gave no reason (its error text was lost); try decoding this file alone';
}

export type PosterCheck =
  | { ok: true; kind: ImageKind; width?: number; height?: number; warning?: string }
  | { ok: false; reason: 'missing' | 'not-an-image' | 'corrupt' | 'too-large'; message: string };

/**
 * Largest poster (in pixels) decoded anywhere: `data check`, feature extraction, the server and the
 * report use this one limit (a poster is ~0.2 MP; 40 MP leaves room for scans yet refuses
 * decompression bombs), so that a poster check accepts is never refused later.
 */
export const MAX_POSTER_PIXELS = 40_000_000;

/**
 * Check one poster. Always: it exists and its first bytes are an image we accept. With `decode`:
 * sharp decodes every pixel, which catches truncated and corrupt files that a header read misses.
 * `expected` is the format the file name announces ('jpeg' for MM-IMDB's `<id>.jpeg`).
 */
export async function checkPoster(
  path: string,
  opts: { decode?: boolean; expected?: ImageKind; sync?: boolean } = {},
): Promise<PosterCheck> {
  let sniff: { kind: ImageKind | null; size: number };
  try {
    sniff = opts.sync ? sniffImageFileSync(path) : await sniffImageFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', message: 'poster file not found' };
    if (err instanceof NotRegularFileError) {
      return { ok: false, reason: 'corrupt', message: `poster is ${err.what}, not a regular file` };
    }
    return { ok: false, reason: 'corrupt', message: `poster unreadable: ${(err as Error).message}` };
  }
  if (sniff.size === 0) return { ok: false, reason: 'corrupt', message: 'poster file is empty' };
  if (!sniff.kind) {
    return {
      ok: false,
      reason: 'not-an-image',
      message: 'poster is not an image (no JPEG/PNG/GIF/WebP signature)',
    };
  }
  const warning =
    opts.expected && sniff.kind !== opts.expected
      ? `poster is a ${sniff.kind.toUpperCase()} under a .${opts.expected} name (accepted)`
      : undefined;
  if (!opts.decode) return { ok: true, kind: sniff.kind, warning };
  try {
    // Imported here: loading sharp's native module is not needed for the fast, sniff-only path.
    const { default: sharp } = await import('sharp');
    // raw() forces a full decode; a header-only metadata() read accepts a JPEG cut in half.
    const decode = () =>
      sharp(path, { failOn: 'error', limitInputPixels: MAX_POSTER_PIXELS })
        .raw()
        .toBuffer({ resolveWithObject: true });
    const { info } = await decode().catch((err: Error) => {
      // A lost libvips error text ("Unknown error", see explainDecodeFailure): a second decode
      // usually says what is wrong; if it does not either, explainDecodeFailure looks at the file.
      if (/^unknown error/i.test(err.message)) return decode();
      throw err;
    });
    return { ok: true, kind: sniff.kind, width: info.width, height: info.height, warning };
  } catch (err) {
    const message = explainDecodeFailure((err as Error).message, path);
    if (/pixel limit/i.test(message)) {
      return {
        ok: false,
        reason: 'too-large',
        message: `poster exceeds ${MAX_POSTER_PIXELS} pixels: ${message}`,
      };
    }
    return { ok: false, reason: 'corrupt', message: `poster cannot be decoded: ${message}` };
  }
}
