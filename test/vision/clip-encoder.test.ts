import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { env } from '../../src/env.js';
import { visionEncoders } from '../../src/vision/index.js';
import { tempDir } from '../helpers/shared.js';

test('clip: offline and without a local model, init explains what to install or where to put the model', async () => {
  const saved = { ...env };
  env.localModelPath = tempDir('mmgenre-clip-');
  env.allowRemoteModels = false;
  try {
    const enc = visionEncoders.clip({ model: 'Xenova/clip-vit-base-patch32' });
    assert.equal(enc.modality, 'poster');
    await assert.rejects(enc.init(), (err: Error) => {
      assert.ok(err.message.includes(join(env.localModelPath, 'Xenova/clip-vit-base-patch32')), err.message);
      assert.match(err.message, /MMGENRE_ALLOW_REMOTE_MODELS=1/);
      return true;
    });
    assert.throws(() => visionEncoders.clip({ model: '' }), /invalid options for encoder 'clip': model/);
  } finally {
    Object.assign(env, saved);
  }
});

test('clip: with remote models allowed but transformers.js absent, the error names the package to install', async (t) => {
  const saved = { ...env };
  env.allowRemoteModels = true;
  try {
    const enc = visionEncoders.clip();
    try {
      await enc.init();
      t.skip('@huggingface/transformers is installed and a model was reachable');
      enc.dispose();
    } catch (err) {
      const msg = (err as Error).message;
      if (!/needs @huggingface\/transformers/.test(msg)) {
        t.skip(`@huggingface/transformers is installed (model fetch failed: ${msg})`);
        return;
      }
      assert.match(msg, /npm install @huggingface\/transformers/);
    }
  } finally {
    Object.assign(env, saved);
  }
});
