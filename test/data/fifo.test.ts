/** A named pipe where a poster should be is a per-record error at once, never a hang. */
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
