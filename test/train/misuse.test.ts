/** Library misuse: wrong arguments at public entry points give the project's own errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import { parsePythonLiteral, PythonLiteralError } from '../../src/data/python-literal.js';
import { parseConfig, trainFromConfig } from '../../src/train/index.js';
import { MmgenreError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/shared.js';

test('loadDataset with a bogus format is refused, not undefined', async () => {
  const dir = tempDir();
  await assert.rejects(
    loadDataset(dir, { format: 'bogus' as never }),
    (err: unknown) => err instanceof MmgenreError && /format/.test(err.message),
  );
  await assert.rejects(loadDataset(null as never), (err: unknown) => err instanceof MmgenreError);
});

test('parsePythonLiteral: 20,000 adjacent strings parse; deep nesting and non-strings are its own error', () => {
  const adjacent = Array.from({ length: 20_000 }, () => "'ab'").join(' ');
  assert.equal((parsePythonLiteral(adjacent) as string).length, 40_000);
  assert.throws(() => parsePythonLiteral('['.repeat(20_000)), PythonLiteralError);
  assert.throws(() => parsePythonLiteral(42 as never), PythonLiteralError);
});

test('trainFromConfig refuses epochs -1 and "abc" in a config built in code', async () => {
  const config = parseConfig({
    name: 'misuse',
    inputs: [{ id: 'plot', encoder: 'glove-mean' }],
    model: { type: 'mlp', hidden: [4] },
  });
  for (const epochs of [-1, 'abc']) {
    const bad = { ...config, training: { ...config.training, epochs } } as never;
    await assert.rejects(
      trainFromConfig(bad, tempDir(), { out: tempDir(), progress: false }),
      (err: unknown) => err instanceof Error && /epochs/.test(err.message),
      `epochs ${epochs}`,
    );
  }
});
