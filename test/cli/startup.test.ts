/**
 * `mmgenre --help` and `--version` start in well under a second because registering the commands
 * loads no engine (tfjs, onnxruntime, sharp, fastify...): each command imports what it needs when it
 * runs. This checks that statically (timings are measured in the notes, not in tests): a command
 * file's value imports may only name the light modules below.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/shared.js';

const LIGHT = new Set([
  'commander',
  '../errors.js',
  '../options.js',
  './index.js',
  '../../env.js',
  '../../data/types.js',
  '../../experiments/study/features.js',
  '../../experiments/study/published.js',
  '../../features/catalog.js',
  '../../util/errors.js',
  '../../util/atomic.js',
  './worker.js',
  '../../predict/default-model.js',
  '../../predict/format-prediction.js',
  '../../predict/unlabeled.js',
  '../../eval/thresholds.js',
]);

test('command files import only light modules at start-up (the rest inside their action)', () => {
  const dir = join(ROOT, 'src', 'cli', 'commands');
  const heavy: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
    const src = readFileSync(join(dir, f), 'utf8');
    for (const m of src.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
      const [, typeOnly, from] = m;
      if (typeOnly || from.startsWith('node:') || LIGHT.has(from)) continue;
      heavy.push(`${f}: ${from}`);
    }
  }
  assert.deepEqual(heavy, [], 'import these inside the action: `const { x } = await import(...)`');
});
