import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  loadConfig,
  parseConfig,
  resolveConfigPath,
  shippedConfigNames,
  withOverrides,
} from '../../src/runs/config.js';
import { specFromConfig } from '../../src/report/spec-source.js';
import { OUTPUT_OPS, validateSpec } from '../../src/models/spec.js';
import { tempDir } from '../helpers/shared.js';

const valid = {
  name: 'tiny',
  inputs: [{ id: 'plot', encoder: 'glove-mean' }],
  model: { type: 'mlp', hidden: [8] },
  training: { epochs: 3 },
};

test('every shipped config loads, validates and makes a spec', async () => {
  const names = shippedConfigNames();
  assert.ok(names.includes('poster-frozen') && names.includes('text-mlp-meanglove'), names.join(','));
  for (const name of names) {
    const c = loadConfig(name);
    assert.equal(c.name, name);
    // The same path the diagram command takes: inputs (with their encoder options) → spec.
    const spec = await specFromConfig(c, ['a', 'b']);
    validateSpec(spec);
    const last = spec.nodes.at(-1)!;
    assert.equal(last.id, spec.output, `${name}: the last node is the output`);
    assert.ok(OUTPUT_OPS.has(last.op), `${name}: '${last.op}' is not an output op`);
  }
});

test('defaults fill the training settings', () => {
  const c = parseConfig({ ...valid, training: undefined });
  assert.equal(c.training.batchSize, 32);
  assert.equal(c.training.classWeights, 'none');
  assert.equal(c.inputs[0].normalize, 'zscore');
});

test('errors name the bad key', () => {
  const bad = (raw: unknown, pattern: RegExp): void =>
    assert.throws(
      () => parseConfig(raw, 'x.yaml'),
      (e: Error) => e instanceof ConfigError && pattern.test(e.message),
    );
  bad({ ...valid, training: { bachSize: 3 } }, /x\.yaml: unknown key 'training\.bachSize'/);
  bad({ ...valid, training: { batchSize: -1 } }, /training\.batchSize/);
  bad({ ...valid, training: { classWeights: 'sometimes' } }, /training\.classWeights/);
  bad({ ...valid, model: { type: 'mlp', hidden: 'big' } }, /model\.hidden/);
  bad({ ...valid, model: { type: 'transformer' } }, /unknown model type 'transformer'/);
  bad({ ...valid, inputs: [] }, /inputs/);
  bad({ ...valid, inputs: [{ id: 'Plot!', encoder: 'x' }] }, /inputs\.0\.id/);
  bad({ ...valid, inputs: [valid.inputs[0], valid.inputs[0]] }, /duplicate id 'plot'/);
});

test('a YAML file path resolves, a bad name lists the shipped configs, bad YAML is reported', () => {
  const dir = tempDir();
  const file = join(dir, 'mine.yaml');
  writeFileSync(
    file,
    'name: mine\ninputs:\n  - id: plot\n    encoder: glove-mean\nmodel:\n  type: logistic\n',
  );
  assert.equal(loadConfig(file).model.type, 'logistic');
  assert.throws(() => resolveConfigPath('no-such-config'), /shipped: .*poster-frozen/);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'name: [unclosed\n');
  assert.throws(() => loadConfig(broken), /not valid YAML/);
});

test('overrides apply and are validated', () => {
  const c = parseConfig(valid);
  assert.equal(withOverrides(c, { epochs: 9, lr: 0.01 }).training.epochs, 9);
  assert.throws(() => withOverrides(c, { batchSize: 0 }), /training\.batchSize/);
});
