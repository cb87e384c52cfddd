import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parsePredictions,
  readPredictions,
  toPredictionRows,
  writePredictions,
} from '../../src/eval/predictions.js';
import { alignPredictions } from '../../src/eval/evaluate-predictions.js';
import { tempDir } from '../helpers/shared.js';

const LABELS = ['Drama', 'Comedy'];

test('predictions round-trip through a JSON Lines file, extra fields kept', () => {
  const path = join(tempDir(), 'p.jsonl');
  const rows = toPredictionRows(
    ['1', '2'],
    [
      [0.9, 0.1],
      [0.2, 0.7],
    ],
    LABELS,
  );
  rows[0].model = 'gmu';
  writePredictions(path, rows);
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3);
  const back = readPredictions(path, LABELS);
  assert.deepEqual(back.errors, []);
  assert.deepEqual(back.rows, rows);
  assert.deepEqual(readPredictions(path).labels, LABELS);
  assert.throws(() => writePredictions(path, [{ id: '3', scores: { Drama: 1.2 } }]), /\[0, 1\]/);
  assert.deepEqual(readPredictions(path, LABELS).rows, rows, 'a failed write leaves the old file');
});

test('every bad line is reported with its line number and the good lines are kept', () => {
  const lines = [
    '{"id": "a", "scores": {"Drama": 0.8, "Comedy": 0.1}}',
    '{"id": "b", "scores": {"Drama": 0.8}}',
    '{"id": "c", "scores": {"Drama": NaN, "Comedy": 0.1}}',
    '{"id": "d", "scores": {"Drama": 1.7, "Comedy": 0.1}}',
    '{"id": "e" "scores": {}}',
    '{"id": "a", "scores": {"Drama": 0.2, "Comedy": 0.1}}',
    '',
    '{"id": "f", "scores": {"Drama": "0.3", "Comedy": null}}',
    '[1, 2]',
    '{"scores": {"Drama": 0.2, "Comedy": 0.1}}',
    '{"id": "g", "scores": {"Drama": 0.5, "Comedy": 0.5}}',
    '{"id": "h", "scores": {"Drama": 0.5, "Com',
  ];
  const r = parsePredictions(lines.join('\n'), LABELS);
  assert.deepEqual(
    r.rows.map((x) => x.id),
    ['a', 'g'],
  );
  const byLine = new Map(r.errors.map((e) => [e.line, e.message]));
  assert.deepEqual([...byLine.keys()], [2, 3, 4, 5, 6, 8, 9, 10, 12]);
  assert.match(byLine.get(2)!, /^line 2: \(id b\) missing scores for genre\(s\): Comedy/);
  assert.match(byLine.get(3)!, /^line 3: .*NaN/);
  assert.match(byLine.get(4)!, /^line 4: \(id d\) score for Drama is 1\.7, outside \[0, 1\]/);
  assert.match(byLine.get(5)!, /^line 5: malformed JSON/);
  assert.match(byLine.get(6)!, /^line 6: duplicate id a \(first on line 1\)/);
  assert.match(
    byLine.get(8)!,
    /score for Drama is not a number \("0\.3"\).*score for Comedy is not a number \(null\)/,
  );
  assert.match(byLine.get(9)!, /expected a JSON object/);
  assert.match(byLine.get(10)!, /"id" must be a non-empty string/);
  assert.match(byLine.get(12)!, /^line 12: truncated line at the end of the file/);
});

test('without given labels, the first good row sets them and later rows must match', () => {
  const text = [
    '{"id": "a", "scores": {"X": 0.1, "Y": 0.2}}',
    '{"id": "b", "scores": {"X": 0.1, "Y": 0.2, "Z": 0.3}}',
    '',
  ].join('\n');
  const r = parsePredictions(text);
  assert.deepEqual(r.labels, ['X', 'Y']);
  assert.match(r.errors[0].message, /line 2: .*genre\(s\) not in the first row: Z/);
});

test('an unreadable file throws with its path; CRLF line ends are accepted', () => {
  assert.throws(
    () => readPredictions('/no/such/file.jsonl'),
    /cannot read predictions file \/no\/such\/file\.jsonl/,
  );
  const path = join(tempDir(), 'crlf.jsonl');
  writeFileSync(path, '{"id": "a", "scores": {"Drama": 0.8, "Comedy": 0.1}}\r\n');
  assert.equal(readPredictions(path, LABELS).rows.length, 1);
});

test('alignment counts ids on either side without a partner', () => {
  const rows = toPredictionRows(
    ['1', '2', '9'],
    [
      [0.9, 0.1],
      [0.2, 0.7],
      [0.5, 0.5],
    ],
    LABELS,
  );
  const recs = [
    { id: '2', genres: ['Comedy'] },
    { id: '1', genres: ['Drama', 'Comedy'] },
    { id: '3', genres: ['Drama'] },
  ];
  const a = alignPredictions(rows, recs, LABELS);
  assert.deepEqual(a.ids, ['2', '1']);
  assert.deepEqual(a.missingPredictions, ['3']);
  assert.deepEqual(a.unknownIds, ['9']);
  assert.deepEqual(Array.from(a.yTrue[1]), [1, 1]);
  assert.deepEqual(Array.from(a.yProb[0]), [0.2, 0.7]);
});
