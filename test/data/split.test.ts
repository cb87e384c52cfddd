import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stratifiedSplit } from '../../src/data/split.js';

function items(): Array<{ id: string; genres: string[] }> {
  const out: Array<{ id: string; genres: string[] }> = [];
  for (let i = 0; i < 1000; i++)
    out.push({ id: `m${i}`, genres: i % 3 === 0 ? ['Drama', 'Comedy'] : ['Drama'] });
  for (let i = 0; i < 10; i++) out.push({ id: `w${i}`, genres: ['Western', 'Drama'] });
  for (let i = 0; i < 5; i++) out.push({ id: `n${i}`, genres: [] });
  return out;
}

test('the split is a partition with 30% test and 10% dev', () => {
  const s = stratifiedSplit(items(), { seed: 7 });
  const all = [...s.train, ...s.dev, ...s.test];
  assert.equal(all.length, 1015);
  assert.equal(new Set(all).size, 1015);
  assert.ok(Math.abs(s.test.length / 1015 - 0.3) < 0.01, `test ${s.test.length}`);
  assert.ok(Math.abs(s.dev.length / 1015 - 0.1) < 0.01, `dev ${s.dev.length}`);
});

test('the rarest genre is split first, so it is in every split in its share', () => {
  const s = stratifiedSplit(items(), { seed: 7 });
  const westerns = (ids: string[]) => ids.filter((id) => id.startsWith('w')).length;
  assert.deepEqual([westerns(s.train), westerns(s.dev), westerns(s.test)], [6, 1, 3]);
});

test('same seed and same items (in any order) give the same split; another seed differs', () => {
  const a = stratifiedSplit(items(), { seed: 7 });
  const b = stratifiedSplit(items().reverse(), { seed: 7 });
  assert.deepEqual(a, b);
  const c = stratifiedSplit(items(), { seed: 8 });
  assert.notDeepEqual(a.test, c.test);
});

test('custom shares and invalid shares', () => {
  const s = stratifiedSplit(items(), { seed: 1, test: 0.5, dev: 0 });
  assert.equal(s.dev.length, 0);
  assert.ok(Math.abs(s.test.length - 507) <= 3);
  assert.throws(() => stratifiedSplit(items(), { test: 0.8, dev: 0.3 }), RangeError);
});
