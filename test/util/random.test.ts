/**
 * The one seeded random module draws exactly what the generators it replaced drew (values recorded
 * from them), so synthetic data, splits, initialisations and bootstrap intervals are unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, deriveSeed, lcg32, mulberry32, SeededRandom, subSeed } from '../../src/util/random.js';

const MULBERRY32_SEED_42 = [0.6011037519201636, 0.44829055899754167, 0.8524657934904099];

test('mulberry32, SeededRandom and createRng draw the recorded sequence for a seed', () => {
  const m = mulberry32(42);
  assert.deepEqual([m(), m(), m()], MULBERRY32_SEED_42);
  const r = new SeededRandom(42);
  assert.deepEqual([r.next(), r.next(), r.next()], MULBERRY32_SEED_42);
  assert.deepEqual([...new SeededRandom(7).permutation(10)], [6, 5, 8, 1, 2, 3, 4, 7, 9, 0]);
  const g = createRng(42);
  assert.deepEqual(
    [g.next(), g.int(1, 6), g.normal(), g.weighted([1, 2, 3]), ...g.shuffle([1, 2, 3, 4, 5])],
    [0.6011037519201636, 3, 0.12157892412506044, 2, 4, 2, 5, 1, 3],
  );
});

test('a checkpointed SeededRandom state resumes the same sequence', () => {
  const a = new SeededRandom(5);
  a.next();
  const b = new SeededRandom(0);
  b.state = a.state;
  assert.deepEqual([a.next(), a.next()], [b.next(), b.next()]);
});

test('sub-stream seeds and the LCG give the recorded values', () => {
  assert.equal(subSeed(3, 'init'), 572031726);
  assert.equal(deriveSeed(3, 1, 2), 4087988438);
  const next = lcg32(5);
  const values = Array.from({ length: 4 }, () => Math.fround((next() / 2 ** 32) * 2 - 1));
  assert.deepEqual(
    values,
    [-0.5239885449409485, 0.46417146921157837, -0.5138497352600098, 0.7058974504470825],
  );
});
