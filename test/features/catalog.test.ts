import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENCODER_CATALOG } from '../../src/features/catalog.js';
import { knownEncoders, loadBuiltinEncoders } from '../../src/features/registry.js';
import { SEQUENCE_ENCODER } from '../../src/features/extract.js';
import { HDF5_SEQUENCE_ENCODER } from '../../src/features/hdf5-encoders.js';

test('the encoder catalog (mmgenre encoders) names exactly the built-in encoders', async () => {
  await loadBuiltinEncoders();
  assert.deepEqual(
    Object.keys(ENCODER_CATALOG).sort(),
    [...knownEncoders(), SEQUENCE_ENCODER, HDF5_SEQUENCE_ENCODER].sort(),
  );
});
