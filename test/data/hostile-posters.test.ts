/** Hostile posters: a named pipe is a per-record error at once, never a hang; one pixel limit everywhere. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkPoster } from '../../src/data/image-sniff.js';
import { loadRgb } from '../../src/vision/image.js';
import { tempDir } from '../helpers/shared.js';

/** Fails the test instead of hanging it when `p` never settles. */
function guard<T>(p: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref(),
    ),
  ]);
}

test('a FIFO as a poster: every check answers at once with a clear reason', async () => {
  const fifo = join(tempDir(), '9000016.jpeg');
  execFileSync('mkfifo', [fifo]);
  for (const opts of [{ sync: true }, {}, { decode: true }]) {
    const r = await guard(checkPoster(fifo, opts));
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /named pipe/);
  }
  await assert.rejects(guard(loadRgb(fifo, { size: 32 })), /not a regular file/);
});

test('one pixel limit: a poster data check refuses, extraction refuses too', async () => {
  const { default: sharp } = await import('sharp');
  const { MAX_POSTER_PIXELS } = await import('../../src/data/image-sniff.js');
  const side = Math.ceil(Math.sqrt(MAX_POSTER_PIXELS)) + 10; // just over the limit
  const path = join(tempDir(), 'huge.png');
  await sharp({ create: { width: side, height: side, channels: 3, background: '#808080' } })
    .png({ compressionLevel: 1 })
    .toFile(path);
  const checked = await checkPoster(path, { decode: true });
  assert.equal(checked.ok, false);
  assert.equal(checked.ok ? '' : checked.reason, 'too-large');
  await assert.rejects(loadRgb(path, { size: 32 }), /pixel limit/);
});
