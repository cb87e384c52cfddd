/**
 * Procedural posters whose look depends on the genres: the primary genre sets the background
 * gradient and brightness, every genre adds shapes of its own kind and accent colour, and a
 * random title band plus pixel noise keep the task from being trivial. Output is raw RGB
 * (row-major, 3 bytes per pixel) for sharp to encode. Drawn by hand because no library draws
 * raw pixel buffers deterministically in-process (canvas packages need native builds).
 */
import type { Rng } from '../util/random.js';
import type { GenreStyle, Rgb, ShapeKind } from './synth-genres.js';

export interface PosterSpec {
  width: number;
  height: number;
  /** Styles of the movie's genres, primary first. */
  styles: readonly GenreStyle[];
  /** Amplitude of the per-pixel uniform noise (0–255 scale). */
  noise?: number;
}

class Canvas {
  readonly px: Float32Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.px = new Float32Array(width * height * 3);
  }
  /** Blend colour `c` with opacity `alpha` over row y, columns [x0, x1). Shapes are drawn as runs of rows for speed. */
  span(y: number, x0: number, x1: number, c: Rgb, alpha: number): void {
    if (y < 0 || y >= this.height) return;
    const xa = Math.max(0, Math.round(x0));
    const xb = Math.min(this.width, Math.round(x1));
    const px = this.px;
    const [r, g, b] = c;
    for (let o = (y * this.width + xa) * 3, end = (y * this.width + xb) * 3; o < end; o += 3) {
      px[o] += (r - px[o]) * alpha;
      px[o + 1] += (g - px[o + 1]) * alpha;
      px[o + 2] += (b - px[o + 2]) * alpha;
    }
  }
  /** Fill rows [y0, y1) with the run `row(y)` returns ([x0, x1], or null for none). */
  rows(y0: number, y1: number, c: Rgb, alpha: number, row: (y: number) => [number, number] | null): void {
    const ya = Math.max(0, Math.floor(y0));
    const yb = Math.min(this.height, Math.ceil(y1));
    for (let y = ya; y < yb; y++) {
      const run = row(y);
      if (run) this.span(y, run[0], run[1], c, alpha);
    }
  }
  rect(x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha: number): void {
    this.rows(y0, y1, c, alpha, () => [x0, x1]);
  }
  disc(cx: number, cy: number, r: number, c: Rgb, alpha: number): void {
    this.rows(cy - r, cy + r, c, alpha, (y) => {
      const h = r * r - (y - cy) ** 2;
      if (h < 0) return null;
      const w = Math.sqrt(h);
      return [cx - w, cx + w];
    });
  }
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

function jitter(rng: Rng, c: Rgb, amount: number, brightness: number): Rgb {
  return [
    clamp255((c[0] + rng.range(-amount, amount)) * brightness),
    clamp255((c[1] + rng.range(-amount, amount)) * brightness),
    clamp255((c[2] + rng.range(-amount, amount)) * brightness),
  ];
}

function drawShape(cv: Canvas, rng: Rng, kind: ShapeKind, c: Rgb, alpha: number): void {
  const W = cv.width;
  const H = cv.height;
  const cx = rng.range(0, W);
  const cy = rng.range(0, H * 0.85);
  switch (kind) {
    case 'circles':
      cv.disc(cx, cy, rng.range(W * 0.06, W * 0.2), c, alpha);
      break;
    case 'rings': {
      const r = rng.range(W * 0.08, W * 0.25);
      const inner = r - rng.range(5, 12);
      for (let y = Math.floor(cy - r); y < cy + r; y++) {
        const dy2 = (y - cy) ** 2;
        if (dy2 > r * r) continue;
        const wo = Math.sqrt(r * r - dy2);
        if (dy2 >= inner * inner) {
          cv.span(y, cx - wo, cx + wo, c, alpha);
        } else {
          const wi = Math.sqrt(inner * inner - dy2);
          cv.span(y, cx - wo, cx - wi, c, alpha);
          cv.span(y, cx + wi, cx + wo, c, alpha);
        }
      }
      break;
    }
    case 'dots':
      for (let i = 0; i < 6; i++)
        cv.disc(rng.range(0, W), rng.range(0, H * 0.85), rng.range(4, 10), c, alpha);
      break;
    case 'rects': {
      const w = rng.range(W * 0.1, W * 0.4);
      const h = rng.range(H * 0.06, H * 0.25);
      cv.rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, c, alpha);
      break;
    }
    case 'triangles': {
      const s = rng.range(W * 0.12, W * 0.3);
      const top = cy - s;
      // Apex at (cx, top), base of width 2s at cy: the half-width grows by one pixel per row.
      cv.rows(top, cy, c, alpha, (y) => [cx - (y - top), cx + (y - top)]);
      break;
    }
    case 'stripes': {
      const t = rng.range(8, 20);
      cv.rect(0, cy - t / 2, W, cy + t / 2, c, alpha);
      break;
    }
    case 'bars': {
      const t = rng.range(8, 22);
      const h = rng.range(H * 0.3, H * 0.8);
      cv.rect(cx - t / 2, cy - h / 2, cx + t / 2, cy + h / 2, c, alpha);
      break;
    }
    case 'diagonals': {
      const t = rng.range(6, 16);
      const slope = rng.range(0.5, 1.5) * (rng.next() < 0.5 ? 1 : -1);
      const k = cx - slope * cy;
      cv.rows(0, H, c, alpha, (y) => [k + slope * y - t, k + slope * y + t]);
      break;
    }
    case 'grid': {
      const size = rng.range(W * 0.2, W * 0.45);
      const step = rng.range(10, 20);
      const x0 = cx - size / 2;
      const y0 = cy - size / 2;
      for (let gy = 0; gy <= size; gy += step) cv.rect(x0, y0 + gy, x0 + size, y0 + gy + 2.5, c, alpha);
      for (let gx = 0; gx <= size; gx += step) cv.rect(x0 + gx, y0, x0 + gx + 2.5, y0 + size, c, alpha);
      break;
    }
    case 'waves': {
      const amp = rng.range(8, 30);
      const freq = rng.range(0.02, 0.06);
      const phase = rng.range(0, Math.PI * 2);
      const t = rng.range(5, 12);
      // A sine band, drawn as one short vertical run per column (rows of unit width).
      for (let x = 0; x < W; x++) {
        const yc = cy + amp * Math.sin(x * freq + phase);
        cv.rows(yc - t, yc + t, c, alpha, () => [x, x + 1]);
      }
      break;
    }
  }
}

/** xorshift32 for per-pixel noise: the Rng interface costs a call per draw, too slow for 460k pixels. */
function noiseStream(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Draw one poster; returns raw RGB bytes (width × height × 3). */
export function drawPoster(rng: Rng, spec: PosterSpec): Uint8Array {
  const { width: W, height: H, styles } = spec;
  const noise = spec.noise ?? 24;
  const cv = new Canvas(W, H);
  const primary = styles[0];
  const top = jitter(rng, primary.background, 25, primary.brightness);
  const bottom = jitter(rng, primary.background, 25, primary.brightness * rng.range(0.45, 0.8));
  for (let y = 0; y < H; y++) {
    const f = y / (H - 1);
    const r = top[0] + (bottom[0] - top[0]) * f;
    const g = top[1] + (bottom[1] - top[1]) * f;
    const b = top[2] + (bottom[2] - top[2]) * f;
    for (let x = 0, o = y * W * 3; x < W; x++, o += 3) {
      cv.px[o] = r;
      cv.px[o + 1] = g;
      cv.px[o + 2] = b;
    }
  }
  styles.forEach((style, i) => {
    const count = i === 0 ? rng.int(5, 9) : rng.int(3, 6);
    for (let k = 0; k < count; k++) {
      const colour = jitter(rng, style.accent, 30, Math.min(1.2, 0.5 + style.brightness * 0.6));
      drawShape(cv, rng, style.shape, colour, rng.range(0.6, 0.95));
    }
  });
  // A title band with "lettering" blocks in a random colour: present on every poster, genre-neutral.
  const bandTop = H * rng.range(0.8, 0.88);
  const bandColour: Rgb = [rng.range(0, 255), rng.range(0, 255), rng.range(0, 255)];
  cv.rect(0, bandTop, W, H, bandColour, 0.5);
  const letterColour: Rgb = [rng.range(0, 255), rng.range(0, 255), rng.range(0, 255)];
  const letters = rng.int(4, 10);
  const letterH = rng.range(14, 26);
  let lx = W * 0.08;
  for (let i = 0; i < letters && lx < W * 0.92; i++) {
    const lw = rng.range(8, 22);
    cv.rect(lx, bandTop + 10, lx + lw, bandTop + 10 + letterH, letterColour, 0.9);
    lx += lw + rng.range(3, 8);
  }
  // Uint8ClampedArray rounds and clamps on assignment: the cheapest way to quantise 460k values.
  const out = new Uint8ClampedArray(W * H * 3);
  const uniform = noiseStream(rng.int(1, 0x7fffffff));
  const px = cv.px;
  const amp = 2 * noise;
  for (let i = 0; i < out.length; i++) out[i] = px[i] + (uniform() - 0.5) * amp;
  return new Uint8Array(out.buffer);
}
