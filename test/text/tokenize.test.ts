import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stripAuthor, tokenize } from '../../src/text/tokenize.js';

test('stripAuthor removes the ::author signature, with or without an e-mail', () => {
  assert.equal(stripAuthor('He wins the race.::Jane Doe <jane@example.com>'), 'He wins the race.');
  assert.equal(stripAuthor('He wins the race.::Huggo'), 'He wins the race.');
  assert.equal(stripAuthor('No signature here.'), 'No signature here.');
  // Several signed plots joined by newlines: each signature goes.
  assert.equal(stripAuthor('First plot.::Ann\nSecond plot.::Bob <b@x.org>'), 'First plot.\nSecond plot.');
});

test('a "::" inside the text (not a short line-ending tail) is kept', () => {
  const long = 'The score was 2::1 ' + 'and the match went on for a very long time '.repeat(10);
  assert.equal(stripAuthor(long), long.trim());
});

test('tokens are lower case, as in the GloVe vocabulary, and the author is not a token', () => {
  const t = tokenize('In New York, Dr. Smith meets THE Wizard.::Jane Doe <jane@example.com>');
  assert.deepEqual(t, ['in', 'new', 'york', 'dr.', 'smith', 'meets', 'the', 'wizard']);
  for (const tok of t) assert.equal(tok, tok.toLowerCase());
  assert.ok(!t.includes('jane') && !t.includes('doe'));
});

test('contractions become the words the vocabulary has ("n\'t" → "not")', () => {
  assert.deepEqual(tokenize("He didn't go, they won't stay"), [
    'he',
    'did',
    'not',
    'go',
    'they',
    'will',
    'not',
    'stay',
  ]);
});

test('punctuation is dropped by default and kept on request; stop words can be dropped', () => {
  assert.deepEqual(tokenize('Run, boy!', { punctuation: true }), ['run', ',', 'boy', '!']);
  assert.deepEqual(tokenize('The boy and the wizard', { stopWords: false }), ['boy', 'wizard']);
  // wink splits most hyphenated words; both halves are in the vocabulary.
  assert.deepEqual(tokenize('A well-known wizard'), ['a', 'well', 'known', 'wizard']);
});

test('null, empty and signature-only text give no tokens', () => {
  assert.deepEqual(tokenize(null), []);
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize('   '), []);
  assert.deepEqual(tokenize('::Jane Doe'), []);
});
