/**
 * Locks that know their holder: a lock naming a live but unrelated process (a reused pid) is taken
 * over, a live holder's lock makes a wait end with the file to delete, and two trainings into one
 * run folder cannot both write it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireLock } from '../../src/features/store.js';
import { getModelFamily, specFor, type InputSpec } from '../../src/models/index.js';
import { parseConfig, trainOnData } from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { LockBusyError, processStartTime } from '../../src/util/lock.js';
import { tempDir } from '../helpers/shared.js';

describe('locks', { timeout: 60_000 }, () => {
  let other: ReturnType<typeof spawn>;
  before(() => {
    // A live process that has nothing to do with mmgenre, standing for a reused pid.
    other = spawn('sleep', ['60'], { stdio: 'ignore' });
  });
  after(() => {
    other.kill();
  });

  test('a lock naming a live, unrelated process is stale and taken over at once', async () => {
    const dir = tempDir('mmgenre-lock-');
    const holder = {
      host: hostname(),
      pid: other.pid,
      thread: 0,
      processStart: processStartTime(other.pid!) - 3_600_000, // the pid's first owner, an hour ago
      purpose: 'feature extraction',
      since: new Date(Date.now() - 3_600_000).toISOString(),
    };
    writeFileSync(join(dir, 'lock'), JSON.stringify(holder));
    const t0 = performance.now();
    const release = await acquireLock(dir, { waitMs: 5000 });
    assert.ok(performance.now() - t0 < 1000, 'taken over without waiting');
    release();
    assert.ok(!existsSync(join(dir, 'lock')));

    // The older `pid:thread` form with a live pid: its heartbeat (mtime) is old, so it is stale too.
    writeFileSync(join(dir, 'lock'), `${other.pid}:0`);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(dir, 'lock'), old, old);
    const release2 = await acquireLock(dir, { waitMs: 5000 });
    release2();
  });

  test("a live holder's lock: the wait ends with a message naming the file to delete", async () => {
    const dir = tempDir('mmgenre-lock-');
    writeFileSync(
      join(dir, 'lock'),
      JSON.stringify({
        host: hostname(),
        pid: other.pid,
        thread: 0,
        processStart: processStartTime(other.pid!),
        purpose: 'feature extraction',
        since: new Date().toISOString(),
      }),
    );
    await assert.rejects(acquireLock(dir, { waitMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof LockBusyError);
      assert.match(err.message, new RegExp(`pid ${other.pid}`));
      assert.match(err.hint ?? '', /delete .*lock/);
      return true;
    });
  });

  test('two trainings into one run folder: one trains, the other is refused', async (t) => {
    try {
      getModelFamily('mlp');
    } catch {
      t.skip('no mlp model family');
      return;
    }
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
      name: 'lock-test',
      inputs: [{ id: 'x', encoder: 'glove-mean', normalize: 'none' }],
      model: { type: 'mlp', hidden: [4] },
      training: { epochs: 2, patience: 0 },
    });
    const spec = specFor('mlp', { hidden: [4] }, { labels, inputs });
    const out = join(tempDir('mmgenre-runlock-'), 'run');
    mkdirSync(out);
    const train = () => trainOnData(config, spec, data, [{ kind: 'none' }], { out, progress: false });
    const first = train();
    await new Promise((r) => setTimeout(r, 40));
    const results = await Promise.allSettled([first, train()]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one training ran');
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(refused.reason instanceof LockBusyError, String(refused.reason));
    assert.match(refused.reason.message, /a training/);
    assert.ok(!existsSync(join(out, '.train.lock')), 'the lock is gone after the training');
  });
});
