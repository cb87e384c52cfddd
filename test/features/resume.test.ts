import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/load.js';
import { extractFeaturesWithReport } from '../../src/features/extract.js';
import { MMIMDB_SAMPLE, ROOT, runCli, skipUnless, tempDir } from '../helpers/shared.js';
import { IMAGE_STATS, sampleSplits, sampleSubsetDir } from './fixtures.js';

const skip = skipUnless(MMIMDB_SAMPLE);

/** Chunk records written so far under a cache dir (any entry). */
function chunksWritten(cacheDir: string): number {
  const root = join(cacheDir, 'features');
  if (!existsSync(root)) return 0;
  let n = 0;
  for (const ds of readdirSync(root)) {
    for (const en of readdirSync(join(root, ds))) {
      const c = join(root, ds, en, 'chunks');
      if (existsSync(c)) n += readdirSync(c).filter((f) => f.endsWith('.json')).length;
    }
  }
  return n;
}

function matrixOf(cacheDir: string): Buffer {
  const root = join(cacheDir, 'features');
  const [ds] = readdirSync(root);
  const [en] = readdirSync(join(root, ds));
  const f = readdirSync(join(root, ds, en)).find((n) => n.startsWith('matrix.'))!;
  return readFileSync(join(root, ds, en, f));
}

/**
 * Start `args` (node arguments) and SIGKILL it once `killWhen()` holds (checked every 5 ms).
 * Resolves with how it ended: killed by us, or exited by itself (then with its stdout).
 */
function runAndKill(
  args: string[],
  killWhen: () => boolean,
  env: Record<string, string> = {},
): Promise<{ killed: boolean; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, MMGENRE_QUIET: '1', MMGENRE_FROM_SOURCE: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const timer = setInterval(() => {
      if (!killed && killWhen()) {
        killed = child.kill('SIGKILL');
      }
    }, 5);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      resolve({ killed: signal === 'SIGKILL', code, stdout, stderr });
    });
  });
}

test(
  'SIGKILLed again and again, extraction resumes and ends byte-identical to an uninterrupted run',
  { skip },
  async () => {
    const data = sampleSubsetDir(
      MMIMDB_SAMPLE,
      sampleSplits(MMIMDB_SAMPLE, { train: 80, dev: 16 }),
      tempDir(),
    );
    const dataset = await loadDataset(data);
    const refCache = tempDir();
    await extractFeaturesWithReport(dataset, IMAGE_STATS, {
      cacheDir: refCache,
      workers: 0,
      chunkRows: 4,
      batchSize: 4,
      progress: false,
    });
    const reference = matrixOf(refCache);

    const cacheDir = tempDir();
    const args = ['--import', 'tsx', 'test/features/extract-child.ts', data, cacheDir, '4', '2'];
    // Kill points: as soon as the first chunk lands, then a few chunks later, then later again.
    const killed: number[] = [];
    for (const target of [1, 5, 12]) {
      const r = await runAndKill(args, () => chunksWritten(cacheDir) >= target);
      if (!r.killed) break; // it finished before the kill point (a very fast machine): still checked below
      killed.push(chunksWritten(cacheDir));
    }
    assert.ok(killed.length >= 1, 'at least one run was killed mid-way');
    assert.ok(killed.at(-1)! < 24, 'the last kill left chunks to do');
    const final = await runAndKill(args, () => false);
    assert.equal(final.code, 0, final.stderr);
    const report = JSON.parse(final.stdout) as { computedRows: number; reusedRows: number; noop: boolean };
    assert.equal(report.computedRows + report.reusedRows, 96);
    // Every chunk record on disk is whole (written after its data, atomically): all are reused.
    assert.equal(
      report.reusedRows,
      4 * killed.at(-1)!,
      `resumed from what was written (${JSON.stringify(report)})`,
    );
    assert.ok(matrixOf(cacheDir).equals(reference), 'byte-identical to the uninterrupted run');
  },
);

test(
  'features extract (bundled MobileNetV2): killed mid-way, resumed by the same command, then a no-op',
  { skip },
  async () => {
    const data = sampleSubsetDir(
      MMIMDB_SAMPLE,
      sampleSplits(MMIMDB_SAMPLE, { train: 28, dev: 4 }),
      tempDir(),
    );
    const cli = (cache: string): string[] => [
      'features',
      'extract',
      '--data',
      data,
      '--encoder',
      'mobilenet_v2',
      '--cache',
      cache,
      '--chunk-rows',
      '8',
      '--workers',
      '2',
    ];
    const refCache = tempDir();
    const ref = runCli(cli(refCache), { timeoutMs: 300_000 });
    assert.equal(ref.status, 0, ref.stderr);
    assert.match(ref.stdout, /shape\s+32 × 1280 \(float32\)/);
    assert.match(ref.stdout, /computed\s+32 rows in [\d.]+ s \([\d.]+ rows\/s, 2 workers\)/);

    const cacheDir = tempDir();
    const killedRun = await runAndKill(
      [join(ROOT, 'bin', 'mmgenre.js'), ...cli(cacheDir)],
      () => chunksWritten(cacheDir) >= 2,
    );
    assert.equal(killedRun.killed, true, killedRun.stderr);
    const resumed = runCli(cli(cacheDir), { timeoutMs: 300_000 });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /; (1[6-9]|2\d) reused from an earlier run/);
    assert.ok(matrixOf(cacheDir).equals(matrixOf(refCache)), 'byte-identical to the uninterrupted run');

    const noop = runCli(cli(cacheDir), { timeoutMs: 300_000 });
    assert.equal(noop.status, 0, noop.stderr);
    assert.match(noop.stdout, /nothing to do: all 32 rows were already cached/);
  },
);
