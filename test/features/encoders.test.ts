/**
 * One suite over every registered encoder: each is built with the options its preparer fits on a
 * small generated dataset (none for most), initialised offline, and run on real movies and on a
 * movie without any input. Its rows have its `dim` (and `rowShape`), hold finite numbers, and the
 * movie without input gets a per-record error, never a row of zeros passed off as data. An
 * encoder that cannot run here (a local model folder, an HDF5 file, options a config must give)
 * has to say so with an MmgenreError, which is checked; nothing is downloaded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/load.js';
import { synthesizeDataset } from '../../src/data/synth.js';
import type { MovieRecord } from '../../src/data/types.js';
import { createEncoder, knownEncoders, loadBuiltinEncoders } from '../../src/features/registry.js';
import '../../src/models/index.js';
import { prepareInputOptions } from '../../src/features/preparers.js';
import { isMmgenreError } from '../../src/util/errors.js';
import { tempDir } from '../helpers/shared.js';

/** Movies with an input of every modality each encoder reads; one more has none. */
async function movies(): Promise<{
  records: MovieRecord[];
  empty: MovieRecord;
  dataset: Awaited<ReturnType<typeof loadDataset>>;
}> {
  const out = join(tempDir('mmgenre-encoders-'), 'synth');
  await synthesizeDataset({ out, n: 12, seed: 3, width: 96, silent: true });
  const dataset = await loadDataset(out);
  dataset.records.forEach((r, i) => (r.companies = [`Studio ${i % 3}`, 'Pictures Inc']));
  const train = new Set(dataset.splits.train);
  const records = dataset.records.filter((r) => !train.has(r.id)).slice(0, 2);
  const empty: MovieRecord = { id: 'empty', plot: null, genres: [], posterPath: null, meta: {} };
  return { records, empty, dataset };
}

test('every registered encoder: offline init, rows of its dim, a per-record error for a missing input', async (t) => {
  await loadBuiltinEncoders();
  const names = knownEncoders();
  assert.ok(names.length >= 10, `only ${names.length} encoders registered`);
  const { records, empty, dataset } = await movies();
  assert.equal(records.length, 2);
  const ran: string[] = [];
  for (const name of names) {
    await t.test(name, async (st) => {
      let encoder;
      try {
        encoder = createEncoder(name, await prepareInputOptions(name, {}, dataset));
        encoder.bindRecords?.([...records, empty]);
        await encoder.init();
      } catch (err) {
        assert.ok(isMmgenreError(err), `${name} fails with a bug, not a user-facing error: ${String(err)}`);
        st.skip(`cannot run offline without more: ${(err as Error).message.split('\n')[0]}`);
        return;
      }
      try {
        assert.equal(encoder.name, name);
        assert.ok(encoder.key.length > 0, 'a cache key');
        assert.equal(
          encoder.rowShape.reduce((a, b) => a * b, 1),
          encoder.dim,
          `rowShape [${encoder.rowShape}] holds dim ${encoder.dim}`,
        );
        const rows = await encoder.encode([...records, empty]);
        assert.equal(rows.length, records.length + 1, 'one result per record');
        const last = rows[records.length];
        assert.ok(!(last instanceof Float32Array) && typeof last.error === 'string' && last.error.length > 0);
        const vectors = rows.slice(0, records.length).filter((r) => r instanceof Float32Array);
        assert.ok(
          vectors.length > 0,
          `no row for movies with a ${encoder.modality}: ${JSON.stringify(rows)}`,
        );
        for (const v of vectors) {
          assert.equal(v.length, encoder.dim);
          assert.ok(v.every(Number.isFinite), 'finite values');
        }
        ran.push(name);
      } finally {
        encoder.dispose();
      }
    });
  }
  t.diagnostic(`ran: ${ran.join(', ')}`);
  assert.ok(ran.length >= 8, `only ${ran.length} encoders ran offline: ${ran.join(', ')}`);
});
