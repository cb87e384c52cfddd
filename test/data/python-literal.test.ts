import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNamedList, parsePythonLiteral, PythonLiteralError } from '../../src/data/python-literal.js';

test('TMDB-style lists of dicts parse to plain objects', () => {
  assert.deepEqual(parsePythonLiteral("[{'id': 16, 'name': 'Animation'}, {'id': 35, 'name': 'Comedy'}]"), [
    { id: 16, name: 'Animation' },
    { id: 35, name: 'Comedy' },
  ]);
  assert.deepEqual(parseNamedList("[{'name': 'Pixar Animation Studios', 'id': 3}]"), [
    'Pixar Animation Studios',
  ]);
  assert.deepEqual(parseNamedList('[]'), []);
});

test('quotes: double-quoted names with apostrophes, escaped apostrophes, backslashes', () => {
  assert.deepEqual(parseNamedList(`[{'name': "Workin' Man Films", 'id': 12910}]`), ["Workin' Man Films"]);
  assert.deepEqual(parseNamedList(`[{'name': 'Club d\\'Investissement Média', 'id': 8170}]`), [
    "Club d'Investissement Média",
  ]);
  assert.equal(parsePythonLiteral(`'a\\\\b'`), 'a\\b');
  assert.equal(parsePythonLiteral(`"say \\"hi\\""`), 'say "hi"');
  assert.equal(parsePythonLiteral(`'tab\\there\\nnew'`), 'tab\there\nnew');
  assert.equal(parsePythonLiteral(`'\\xe9t\\u00e9 \\U0001F600'`), 'été 😀');
  assert.equal(parsePythonLiteral(`'\\101\\0'`), 'A\0');
  assert.equal(parsePythonLiteral(`'unknown \\d escape'`), 'unknown \\d escape');
  assert.equal(parsePythonLiteral(`u'unicode' 'joined'`), 'unicodejoined');
  assert.equal(parsePythonLiteral(`r'raw\\n'`), 'raw\\n');
});

test('None, True, False, numbers, tuples, nesting and trailing commas', () => {
  assert.deepEqual(
    parsePythonLiteral(
      "{'a': None, 'b': True, 'c': False, 'd': -1.5e3, 'e': (1, 2,), 'f': [[]], 1: 'int key',}",
    ),
    { a: null, b: true, c: false, d: -1500, e: [1, 2], f: [[]], '1': 'int key' },
  );
  assert.equal(parsePythonLiteral(' 42 '), 42);
  assert.equal(parsePythonLiteral('1_000'), 1000);
  assert.equal(parsePythonLiteral('-inf'), -Infinity);
});

test('a __proto__ key is a plain property, never the prototype', () => {
  const v = parsePythonLiteral("{'__proto__': {'polluted': True}}") as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('broken literals fail with the offset of the problem, code is never run', () => {
  const cases: Array<[string, RegExp]> = [
    ["[{'id': 18, 'name': 'Drama'}", /expected ',' or '\]' at offset 28/],
    ["[{'id': 18, 'name': 'Drama}]", /unterminated string/],
    ["[{'id': 18 'name': 'Drama'}]", /expected ',' or '\}' at offset 11/],
    ["__import__('os').system('echo hi')", /unsupported name '__import__' \(only literals are allowed\)/],
    ["[{'id': 1}] trailing", /unexpected text after the literal/],
    ['', /unexpected end of input/],
    ["{['a']: 1}", /dict key must be a string/],
    ["'line\nbreak'", /newline inside a string/],
    ['['.repeat(100), /nesting deeper than 64/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parsePythonLiteral(text),
      (e: unknown) => e instanceof PythonLiteralError && re.test(e.message),
      text,
    );
  }
  assert.throws(() => parseNamedList("[{'id': 1}]"), /item 0 has no string 'name'/);
  assert.throws(() => parseNamedList("{'name': 'x'}"), /expected a list/);
});
