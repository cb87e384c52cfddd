/**
 * Two layers of one network, with and without mirroring (poster-frozen's four inputs), are
 * extracted with one network run per poster and orientation, into the same cache entries (and
 * the same values) as one-by-one extraction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset, MovieRecord } from '../../src/data/types.js';
import { extractFeatureSet, extractFeaturesWithReport } from '../../src/features/extract.js';
import { jointGroupOf, loadBuiltinEncoders } from '../../src/features/registry.js';
import { env } from '../../src/env.js';
import { MMIMDB_SAMPLE, skipUnless, tempDir } from '../helpers/shared.js';

const skip = skipUnless(MMIMDB_SAMPLE);

function sample(n: number): Dataset {
  const d = join(MMIMDB_SAMPLE, 'dataset');
  const records: MovieRecord[] = readdirSync(d)
    .filter((f) => f.endsWith('.jpeg'))
    .sort()
    .slice(0, n)
    .map((f, i) => ({
      id: f.replace('.jpeg', ''),
      plot: null,
      genres: ['Drama'],
      posterPath: join(d, f),
      meta: {},
      split: i % 3 === 0 ? 'test' : 'train',
    }));
  return {
    name: 'joint-sample',
    root: d,
    format: 'mmimdb',
    records,
    labels: ['Drama'],
  } as unknown as Dataset;
}

const SPECS = [
  { name: 'mobilenet_v2_onnx', options: {} },
  { name: 'mobilenet_v2_onnx', options: { layer: 'block_15_add', pool: 'mean' } },
  { name: 'mobilenet_v2_onnx', options: { flip: true } },
  { name: 'mobilenet_v2_onnx', options: { layer: 'block_15_add', pool: 'mean', flip: true } },
];

test(
  'poster-frozen inputs: one network run per poster and orientation, same entries and values as one by one',
  { skip, timeout: 240_000 },
  async () => {
    await loadBuiltinEncoders();
    assert.equal(
      jointGroupOf('mobilenet_v2_onnx', SPECS[0].options),
      jointGroupOf('mobilenet_v2_onnx', SPECS[1].options),
    );
    assert.notEqual(
      jointGroupOf('mobilenet_v2_onnx', SPECS[0].options),
      jointGroupOf('mobilenet_v2_onnx', SPECS[2].options),
    );
    const dataset = sample(10);
    const jointCache = tempDir('mmgenre-joint-');
    const opts = { workers: 0, progress: false, chunkRows: 4 } as const;
    const diffs: string[] = [];
    const joint = await extractFeatureSet(dataset, SPECS, { ...opts, cacheDir: jointCache });
    assert.equal(joint.length, 4);
    // Two passes (one per orientation), each filling two entries.
    assert.deepEqual(
      joint.map((r) => [r.features.dim, r.report.computedRows]),
      [
        [1280, 10],
        [160, 10],
        [1280, 10],
        [160, 10],
      ],
    );
    const models = readdirSync(join(env.cacheDir, 'models'));
    assert.ok(
      models.some((f) => f.includes('flatten_1+block_15_add')),
      `a two-output model file was exported: ${models.join(', ')}`,
    );
    // One by one into another cache: the same entry directories and the same values.
    const single = tempDir('mmgenre-joint-single-');
    for (const [k, spec] of SPECS.entries()) {
      const r = await extractFeaturesWithReport(dataset, spec, { ...opts, cacheDir: single });
      assert.equal(r.report.dir.replace(single, ''), joint[k].report.dir.replace(jointCache, ''));
      let maxDiff = 0;
      for (let i = 0; i < r.features.data.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs(r.features.data[i] - joint[k].features.data[i]));
      assert.ok(maxDiff < 1e-5, `${JSON.stringify(spec.options)}: max difference ${maxDiff}`);
      diffs.push(`${JSON.stringify(spec.options)}: ${maxDiff}`);
    }
    // A second call finds all four entries finished.
    const again = await extractFeatureSet(dataset, SPECS, { ...opts, cacheDir: jointCache });
    assert.ok(again.every((r) => r.report.noop));
    process.stdout.write(`# joint vs single max |difference|: ${diffs.join('; ')}\n`);
  },
);
