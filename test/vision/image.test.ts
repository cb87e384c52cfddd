import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import {
  IMAGENET_NORM,
  ImageError,
  UNIT_RANGE,
  loadRgb,
  loadRgbBatch,
  writeNormalised,
  type RgbImage,
} from '../../src/vision/image.js';
import { tempDir } from '../helpers/shared.js';

const dir = tempDir('mmgenre-vision-img-');

/** A 60×90 poster-like image: left half red, right half blue (so flips and crops are visible). */
function twoTone(width = 60, height = 90): sharp.Sharp {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = 3 * (y * width + x);
      if (x < width / 2) px[p] = 220;
      else px[p + 2] = 220;
    }
  return sharp(px, { raw: { width, height, channels: 3 } });
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const p = 3 * (y * img.width + x);
  return [img.data[p], img.data[p + 1], img.data[p + 2]];
}

async function save(name: string, s: sharp.Sharp): Promise<string> {
  const path = join(dir, name);
  writeFileSync(path, await s.toBuffer());
  return path;
}

test('decodes JPEG, PNG, GIF and WebP to 3-channel RGB at the requested size', async () => {
  const files = [
    await save('a.jpg', twoTone().jpeg({ quality: 95 })),
    await save('a.png', twoTone().png()),
    await save('a.gif', twoTone().gif()),
    await save('a.webp', twoTone().webp({ lossless: true })),
  ];
  for (const f of files) {
    const img = await loadRgb(f, { size: 32 });
    assert.equal(img.data.length, 32 * 32 * 3, f);
    const [r, , b] = pixel(img, 2, 16);
    assert.ok(r > 150 && b < 60, `${f}: left should be red, got ${pixel(img, 2, 16)}`);
    const [r2, , b2] = pixel(img, 29, 16);
    assert.ok(b2 > 150 && r2 < 60, `${f}: right should be blue, got ${pixel(img, 29, 16)}`);
  }
});

test('CMYK and single-channel greyscale JPEGs become sRGB with 3 channels', async () => {
  const cmyk = await save('cmyk.jpg', twoTone().jpeg().toColourspace('cmyk'));
  assert.equal((await sharp(cmyk).metadata()).space, 'cmyk');
  const img = await loadRgb(cmyk, { size: 16 });
  assert.equal(img.data.length, 16 * 16 * 3);
  assert.ok(pixel(img, 1, 8)[0] > 150, 'red survives the CMYK round trip');

  const grey = await save('grey.jpg', twoTone().greyscale().toColourspace('b-w').jpeg());
  assert.equal((await sharp(grey).metadata()).channels, 1);
  const g = await loadRgb(grey, { size: 16 });
  assert.equal(g.data.length, 16 * 16 * 3);
  const [r, gg, b] = pixel(g, 1, 8);
  assert.ok(Math.abs(r - gg) <= 1 && Math.abs(gg - b) <= 1, 'grey pixels have equal channels');
});

test('EXIF orientation is applied', async () => {
  // Stored landscape 90×60 with orientation 6 (rotate 90° clockwise to display) → portrait.
  const stored = twoTone(90, 60).jpeg().withMetadata({ orientation: 6 });
  const path = await save('rotated.jpg', stored);
  const img = await loadRgb(path, { size: { width: 60, height: 90 }, fit: 'pad' });
  // Stored left (red) half goes to the top after a clockwise rotation.
  assert.ok(pixel(img, 30, 5)[0] > 150, `top should be red, got ${pixel(img, 30, 5)}`);
  assert.ok(pixel(img, 30, 85)[2] > 150, `bottom should be blue, got ${pixel(img, 30, 85)}`);
});

test('crop fills the square, pad letterboxes with the background, flip mirrors', async () => {
  const path = await save('tall.png', twoTone(40, 120).png());
  const crop = await loadRgb(path, { size: 40, fit: 'crop' });
  assert.ok(pixel(crop, 20, 0)[2] > 150, 'crop keeps content at the top edge');
  const pad = await loadRgb(path, { size: 40, fit: 'pad' });
  assert.deepEqual(pixel(pad, 1, 20), [0, 0, 0], 'pad adds black bars at the sides');
  assert.ok(pixel(pad, 20, 20)[2] > 150 || pixel(pad, 20, 20)[0] > 150, 'content in the middle');
  const flipped = await loadRgb(path, { size: 40, flip: true });
  assert.ok(pixel(flipped, 2, 20)[2] > 150, 'flipped: left is blue');
  assert.ok(pixel(crop, 2, 20)[0] > 150, 'unflipped: left is red');
});

test('truncated, corrupt, missing and oversized images give a typed ImageError', async () => {
  const big = await twoTone(600, 900).jpeg().toBuffer();
  const truncated = join(dir, 'truncated.jpg');
  writeFileSync(truncated, big.subarray(0, Math.floor(big.length * 0.5)));
  const garbage = join(dir, 'garbage.jpg');
  writeFileSync(garbage, 'this is not an image');
  const cases: Array<[string, ImageError['reason'], number | undefined]> = [
    [truncated, 'corrupt', undefined],
    [garbage, 'unsupported', undefined],
    [join(dir, 'nope.jpg'), 'missing', undefined],
    [await save('huge.png', twoTone(600, 900).png()), 'too-large', 500_000],
  ];
  for (const [path, kind, maxPixels] of cases) {
    await assert.rejects(loadRgb(path, { size: 16, maxPixels }), (err: unknown) => {
      assert.ok(err instanceof ImageError, `${path}: ${String(err)}`);
      assert.equal(err.reason, kind, `${path}: ${err.message}`);
      assert.ok(err.message.includes(path), 'message names the file');
      return true;
    });
  }
});

test('batch decoding keeps order and turns failures into per-slot errors', async () => {
  const ok = await save('ok.png', twoTone().png());
  const bad = join(dir, 'missing.png');
  const out = await loadRgbBatch([ok, bad, ok, ok, bad], { size: 8 }, 2);
  assert.deepEqual(
    out.map((o) => (o instanceof ImageError ? o.reason : 'ok')),
    ['ok', 'missing', 'ok', 'ok', 'missing'],
  );
});

test('normalisation: unit range and ImageNet statistics, NHWC and NCHW', () => {
  const img: RgbImage = { width: 2, height: 1, data: Uint8Array.from([255, 0, 51, 0, 255, 102]) };
  const nhwc = new Float32Array(6);
  writeNormalised(img, UNIT_RANGE, 'NHWC', nhwc);
  assert.deepEqual(
    Array.from(nhwc, (v) => +v.toFixed(4)),
    [1, 0, 0.2, 0, 1, 0.4],
  );
  const nchw = new Float32Array(7);
  writeNormalised(img, IMAGENET_NORM, 'NCHW', nchw, 1);
  const expect = [(1 - 0.485) / 0.229, (0 - 0.485) / 0.229, (0 - 0.456) / 0.224, (1 - 0.456) / 0.224];
  assert.ok(Math.abs(nchw[1] - expect[0]) < 1e-5 && Math.abs(nchw[2] - expect[1]) < 1e-5);
  assert.ok(Math.abs(nchw[3] - expect[2]) < 1e-5 && Math.abs(nchw[4] - expect[3]) < 1e-5);
  assert.ok(Math.abs(nchw[5] - (0.2 - 0.406) / 0.225) < 1e-5);
  assert.equal(nchw[0], 0, 'offset respected');
});
