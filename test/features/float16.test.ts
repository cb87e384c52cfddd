import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromFloat16, toFloat16 } from '../../src/features/float16.js';

test('float16 encodes known values exactly (IEEE 754 binary16, round to nearest even)', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite
    [65520, 0x7c00], // rounds up to Infinity
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // halfway to 0: ties to even → 0
    [3 * 2 ** -25, 0x0002], // halfway between 1 and 2 subnormal units → even (2)
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // halfway between 1 and next: ties to even (1)
    [1 + 3 * 2 ** -11, 0x3c02], // halfway between 1+2^-10 and 1+2^-9 → even
    [0.1, 0x2e66],
  ];
  const bits = toFloat16(Float32Array.from(cases.map(([v]) => v)));
  cases.forEach(([v, expected], i) =>
    assert.equal(bits[i], expected, `${v} → 0x${bits[i].toString(16)}, expected 0x${expected.toString(16)}`),
  );
  assert.ok(Number.isNaN(fromFloat16(toFloat16(Float32Array.of(NaN)))[0]));
});

test('float16 round trip is exact on float16 values and within half an ulp elsewhere', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const decoded = fromFloat16(all);
  const again = toFloat16(decoded);
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(decoded[h])) continue;
    assert.equal(again[h], h, `0x${h.toString(16)} did not survive a round trip`);
  }
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const values = Float32Array.from({ length: 10000 }, () => rand() * 100);
  const back = fromFloat16(toFloat16(values));
  values.forEach((v, i) =>
    assert.ok(Math.abs(back[i] - v) <= Math.abs(v) * 2 ** -11 + 1e-7, `${v} → ${back[i]}`),
  );
});
