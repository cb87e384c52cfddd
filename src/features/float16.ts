/**
 * IEEE 754 half-precision conversion for the float16 feature cache.
 * Written by hand because Node 20 has no Float16Array and the polyfills convert one element
 * per function call through a DataView; these loops work on whole typed arrays with shared
 * scratch views, which is what a cache of millions of values needs. Round-to-nearest-even,
 * overflow to ±Infinity, subnormals kept, NaN kept as a quiet NaN.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

function halfBits(value: number): number {
  scratchF32[0] = value;
  const x = scratchU32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000; // implicit leading 1
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: correct
  return half;
}

/** float32 → float16 bit patterns. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]);
  return out;
}

// A 65,536-entry table makes decoding a single indexed load per value.
let decodeTable: Float32Array | null = null;
function table(): Float32Array {
  if (decodeTable) return decodeTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant ? NaN : sign * Infinity;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  decodeTable = t;
  return t;
}

/** float16 bit patterns → float32. */
export function fromFloat16(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const t = table();
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}
