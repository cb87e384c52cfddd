/**
 * Every file mmgenre writes and reads back carries a checksum verified on load: a byte flipped in
 * a checkpoint, a saved model's weights, the GloVe binary cache or an exported ONNX model is an
 * error that names the file and what to do, never different numbers.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { env } from '../../src/env.js';
import { loadBuiltinEncoders, createEncoder } from '../../src/features/registry.js';
import { specFor, type InputSpec } from '../../src/models/index.js';
import { buildGloveCache, gloveCacheDir, readGloveCache, readGloveManifest } from '../../src/text/glove.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { parseConfig, trainOnData } from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { loadLayersModel } from '../../src/runs/run.js';
import { onnxOptionsSchema, OnnxEncoder } from '../../src/vision/onnx-encoder.js';
import { CorruptFileError, writeFileWithChecksum } from '../../src/util/checksum.js';
import { tempDir } from '../helpers/shared.js';
import { writeTinySource } from '../text/helpers.js';

/** Flip one byte of `path` at `at` (negative: from the end). */
function flip(path: string, at: number): void {
  const bytes = readFileSync(path);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] ^= 0x5a;
  writeFileSync(path, bytes);
}

function corrupt(path: RegExp, fix: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CorruptFileError, String(err));
    assert.match(err.message, path);
    assert.match(err.hint ?? '', fix);
    return true;
  };
}

describe('checksums on stored files', { timeout: 120_000 }, () => {
  let out = '';
  before(async () => {
    const labels = ['Drama', 'Comedy', 'Action'];
    const data = syntheticTrainingData({ sizes: { train: 32, dev: 8, test: 8 }, dims: [6], labels });
    const inputs: InputSpec[] = [
      {
        id: 'x',
        modality: 'plot',
        source: { kind: 'features', encoder: 'glove-mean', normalize: 'none' },
        shape: [6],
        dtype: 'float32',
      },
    ];
    const config = parseConfig({
      name: 'checksums',
      inputs: [{ id: 'x', encoder: 'glove-mean', normalize: 'none' }],
      model: { type: 'mlp', hidden: [4] },
      training: { epochs: 2, patience: 0 },
    });
    out = join(tempDir('mmgenre-checksums-'), 'run');
    await trainOnData(config, specFor('mlp', { hidden: [4] }, { labels, inputs }), data, [{ kind: 'none' }], {
      out,
      progress: false,
    });
  });

  test('a checkpoint with a changed tensor byte', () => {
    const path = join(out, 'checkpoint.bin');
    assert.ok(readCheckpoint(path));
    flip(path, -7);
    assert.throws(() => readCheckpoint(path), corrupt(/checkpoint\.bin is corrupt/, /without --resume/));
  });

  test("a saved model's weights.bin and model.json", async () => {
    const dir = join(out, 'model');
    (await loadLayersModel(dir)).dispose();
    const weights = readFileSync(join(dir, 'weights.bin'));
    flip(join(dir, 'weights.bin'), 10);
    await assert.rejects(loadLayersModel(dir), corrupt(/weights\.bin is corrupt/, /train the run again/));
    writeFileSync(join(dir, 'weights.bin'), weights);
    writeFileSync(join(dir, 'model.json'), readFileSync(join(dir, 'model.json'), 'utf8').replace('"', "'"));
    await assert.rejects(loadLayersModel(dir), corrupt(/model\.json is corrupt/, /train the run again/));
  });

  test('the GloVe binary cache', () => {
    const source = writeTinySource('tiny-checksum');
    const cacheDir = tempDir();
    buildGloveCache({ cacheDir, source });
    const dir = gloveCacheDir(cacheDir, source.version);
    const m = readGloveManifest(dir, source.version)!;
    readGloveCache(dir, m);
    flip(join(dir, 'vectors.f32'), 5);
    assert.throws(() => readGloveCache(dir, m), corrupt(/vectors\.f32 is corrupt/, /delete .* rebuilt/));
  });

  test('an exported ONNX model', async () => {
    await loadBuiltinEncoders();
    const enc = createEncoder('mobilenet_v2_onnx');
    await enc.init(); // exported into the cache on first use
    enc.dispose();
    const exported = readdirSync(join(env.cacheDir, 'models')).find((f) => f.endsWith('.onnx'))!;
    const copy = join(tempDir(), exported);
    copyFileSync(join(env.cacheDir, 'models', exported), copy);
    writeFileWithChecksum(copy, readFileSync(copy));
    flip(copy, -100);
    const onnx = new OnnxEncoder(onnxOptionsSchema.parse({ modelPath: copy }));
    await assert.rejects(onnx.init(), corrupt(/\.onnx is corrupt/, /exported again/));
  });
});
