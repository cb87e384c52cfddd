import { MmgenreError } from '../util/errors.js';
/**
 * A safe parser for Python literals (`ast.literal_eval`'s subset): the TMDB CSV stores
 * `genres` and `production_companies` as `repr()` of lists of dicts, e.g.
 * `[{'id': 16, 'name': 'Animation'}, {'name': "Club d'Investissement", 'id': 8170}]`.
 *
 * Written by hand because no maintained JS library parses Python literals, and rewriting quotes
 * to feed JSON.parse breaks on names such as `"Workin' Man Films"` or `'\\'`. Nothing is evaluated:
 * only strings, numbers, None/True/False, lists, tuples and dicts are accepted.
 */

export type PyValue = null | boolean | number | string | PyValue[] | { [key: string]: PyValue };

export class PythonLiteralError extends MmgenreError {
  constructor(
    message: string,
    /** 0-based offset in the parsed text. */
    readonly position: number,
  ) {
    super('input', `${message} at offset ${position}`);
  }
}

/** Nesting deeper than this is refused (the TMDB lists are 2 deep): no stack overflow on hostile input. */
const MAX_DEPTH = 64;

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

// Sticky regexes match at `lastIndex` without slicing the text.
const WORD = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?/y;
const INF = /[-+]?inf/y;

export function parsePythonLiteral(text: string): PyValue {
  if (typeof text !== 'string') throw new PythonLiteralError(`expected a string, got ${typeof text}`, 0);
  let i = 0;

  const fail = (msg: string): never => {
    throw new PythonLiteralError(msg, i);
  };
  const skipWs = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11) i++;
      else return;
    }
  };

  function value(depth: number): PyValue {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    skipWs();
    const c = text[i];
    if (c === undefined) return fail('unexpected end of input');
    if (c === '[') return sequence(']', depth);
    if (c === '(') return sequence(')', depth);
    if (c === '{') return dict(depth);
    if (c === "'" || c === '"') return string();
    if (/[uUrRbB]/.test(c) && (text[i + 1] === "'" || text[i + 1] === '"')) return string();
    if (/[-+0-9.]/.test(c)) return number();
    WORD.lastIndex = i;
    const word = WORD.exec(text)?.[0];
    if (word === 'None') return ((i += 4), null);
    if (word === 'True') return ((i += 4), true);
    if (word === 'False') return ((i += 5), false);
    if (word === 'nan') return ((i += 3), NaN);
    if (word === 'inf') return ((i += 3), Infinity);
    return fail(
      word ? `unsupported name '${word}' (only literals are allowed)` : `unexpected character '${c}'`,
    );
  }

  function sequence(close: string, depth: number): PyValue[] {
    i++; // opening bracket
    const out: PyValue[] = [];
    for (;;) {
      skipWs();
      if (text[i] === close) return (i++, out);
      out.push(value(depth + 1));
      skipWs();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`expected ',' or '${close}'`);
    }
  }

  function dict(depth: number): { [key: string]: PyValue } {
    i++; // {
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      skipWs();
      if (text[i] === '}') return (i++, out);
      const key = value(depth + 1);
      if (key !== null && typeof key === 'object') fail('dict key must be a string, number or constant');
      skipWs();
      if (text[i] !== ':') fail("expected ':'");
      i++;
      const v = value(depth + 1);
      // defineProperty: a key such as '__proto__' becomes a plain property, never the prototype.
      Object.defineProperty(out, String(key), {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      skipWs();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') fail("expected ',' or '}'");
    }
  }

  /** A string literal and the ones adjacent to it, concatenated as in Python: 'a' 'b' == 'ab'. */
  function string(): string {
    // A loop, not a recursion: 20,000 adjacent literals must not overflow the stack.
    let out = oneString();
    for (;;) {
      const save = i;
      skipWs();
      if (text[i] !== "'" && text[i] !== '"') {
        i = save;
        return out;
      }
      out += oneString();
    }
  }

  function oneString(): string {
    let raw = false;
    while (i < text.length && /[uUrRbB]/.test(text[i])) {
      if (/[rR]/.test(text[i])) raw = true;
      i++;
    }
    const quote = text[i];
    const triple = text.startsWith(quote.repeat(3), i);
    i += triple ? 3 : 1;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      // Copy the run up to the next quote, backslash or newline in one slice (the common case).
      let j = i;
      while (j < text.length) {
        const cc = text.charCodeAt(j);
        if (cc === 39 || cc === 34 || cc === 92 || cc === 10) break;
        j++;
      }
      if (j > i) {
        out += text.slice(i, j);
        i = j;
        continue;
      }
      const c = text[i];
      if (triple ? text.startsWith(quote.repeat(3), i) : c === quote) {
        i += triple ? 3 : 1;
        break;
      }
      if (!triple && c === '\n') fail('newline inside a string');
      if (c === '\\' && !raw) {
        const e = text[i + 1];
        if (e === undefined) fail('unterminated string');
        if (e in SIMPLE_ESCAPES) {
          out += SIMPLE_ESCAPES[e];
          i += 2;
        } else if (/[0-7]/.test(e)) {
          const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))![0];
          out += String.fromCharCode(parseInt(oct, 8));
          i += 1 + oct.length;
        } else if (e === '\n') {
          i += 2; // line continuation
        } else if (e === 'x' || e === 'u' || e === 'U') {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) fail(`bad \\${e} escape`);
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) fail(`bad \\${e} escape`);
          out += String.fromCodePoint(cp);
          i += 2 + n;
        } else {
          // Python keeps unknown escapes as-is (backslash included).
          out += c + e;
          i += 2;
        }
        continue;
      }
      if (c === '\\' && raw && text[i + 1] !== undefined) {
        out += c + text[i + 1];
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
    return out;
  }

  function number(): number {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) {
      INF.lastIndex = i;
      const inf = INF.exec(text);
      if (inf) return ((i += inf[0].length), inf[0].startsWith('-') ? -Infinity : Infinity);
      return fail('bad number');
    }
    i += m[0].length;
    return Number(m[0].replace(/_/g, ''));
  }

  const v = value(0);
  skipWs();
  if (i < text.length) fail('unexpected text after the literal');
  return v;
}

/**
 * The `name` of each dict in a Python-literal list such as TMDB's `genres` column.
 * Throws PythonLiteralError when the text is not a literal, or not a list of dicts with names.
 */
export function parseNamedList(text: string): string[] {
  const v = parsePythonLiteral(text);
  if (!Array.isArray(v)) throw new PythonLiteralError('expected a list', 0);
  return v.map((item, k) => {
    const name = item && typeof item === 'object' && !Array.isArray(item) ? item.name : undefined;
    if (typeof name !== 'string') throw new PythonLiteralError(`item ${k} has no string 'name'`, 0);
    return name;
  });
}
