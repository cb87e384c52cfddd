import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { explainDecodeFailure, isCutShort, type ImageKind } from '../../src/data/image-sniff.js';
import { tempDir } from '../helpers/shared.js';

async function encode(kind: ImageKind): Promise<Buffer> {
  const img = sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 200, g: 30, b: 90 } } });
  return kind === 'jpeg'
    ? img.jpeg().toBuffer()
    : kind === 'png'
      ? img.png().toBuffer()
      : kind === 'gif'
        ? img.gif().toBuffer()
        : img.webp().toBuffer();
}

test('isCutShort: whole JPEG, PNG, GIF and WebP files are complete; the same files cut in half are not', async () => {
  const dir = tempDir('mmgenre-cut-');
  for (const kind of ['jpeg', 'png', 'gif', 'webp'] as const) {
    const bytes = await encode(kind);
    const whole = join(dir, `whole.${kind}`);
    const half = join(dir, `half.${kind}`);
    writeFileSync(whole, bytes);
    writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
    assert.equal(isCutShort(whole, kind), false, `${kind} whole`);
    assert.equal(isCutShort(half, kind), true, `${kind} half`);
  }
});

test('explainDecodeFailure names a cut-short file when libvips lost its error text, and keeps real texts', async () => {
  const dir = tempDir('mmgenre-explain-');
  const bytes = await encode('jpeg');
  const whole = join(dir, 'whole.jpeg');
  const half = join(dir, 'half.jpeg');
  writeFileSync(whole, bytes);
  writeFileSync(half, bytes.subarray(0, bytes.length >> 1));
  assert.match(explainDecodeFailure('Unknown error', half), /^premature end of JPEG file/);
  assert.match(explainDecodeFailure('Unknown error', whole), /libvips gave no reason/);
  assert.match(explainDecodeFailure('Unknown error', join(dir, 'absent.jpeg')), /libvips gave no reason/);
  assert.equal(
    explainDecodeFailure('VipsJpeg: Premature end of input file', half),
    'VipsJpeg: Premature end of input file',
  );
  assert.equal(explainDecodeFailure('Unknown error', undefined), 'Unknown error');
});
