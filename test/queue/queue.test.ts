/**
 * The queue for real: a redis-server, two `mmgenre worker` processes and the coordinator on a
 * subset of the sample. One worker is SIGKILLed mid-shard (its shard goes to the other after the
 * lock lapses), the prediction coordinator is SIGKILLed and restarted, and the feature cache and
 * the predictions must come out byte-identical to an in-process run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../src/data/load.js';
import { env } from '../../src/env.js';
import { extractFeaturesWithReport } from '../../src/features/extract.js';
import { predictDataset } from '../../src/predict/dataset.js';
import { parseQueueUrl } from '../../src/queue/connection.js';
import { runShards } from '../../src/queue/coordinator.js';
import { FeaturesResultHeader, unpackResult, type JobData } from '../../src/queue/jobs.js';
import { parseConfig, trainFromConfig } from '../../src/train/index.js';
import { MMIMDB_SAMPLE, ROOT, skipUnless, tempDir } from '../helpers/shared.js';
import { sampleSplits, sampleSubsetDir } from '../features/fixtures.js';
import { opensslMissing, redisMissing, startRedis, type RedisServer } from '../helpers/redis.js';

const skip = skipUnless(MMIMDB_SAMPLE) || redisMissing();

interface Proc {
  child: ChildProcess;
  out: () => string;
  /** Resolves with the first output line matching `re` (rejects after `ms`). */
  waitFor(re: RegExp, ms?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function cli(args: string[], envVars: Record<string, string>): Proc {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1', ...envVars },
  });
  let text = '';
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const onData = (d: Buffer): void => {
    text += d.toString();
    for (const w of [...waiters]) {
      const line = text.split('\n').find((l) => w.re.test(l));
      if (line) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  return {
    child,
    out: () => text,
    exited,
    waitFor(re, ms = 60_000) {
      const line = text.split('\n').find((l) => re.test(l));
      if (line) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} in ${ms} ms:\n${text}`)), ms);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
  };
}

function until(cond: () => boolean, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - t0 > ms) {
        clearInterval(t);
        reject(new Error('timed out'));
      }
    }, 10);
  });
}

function entryFile(cacheDir: string, pick: (f: string) => boolean): string {
  const root = join(cacheDir, 'features');
  const [ds] = readdirSync(root);
  const [en] = readdirSync(join(root, ds));
  return join(root, ds, en, readdirSync(join(root, ds, en)).find(pick)!);
}

/** The manifest without what differs between any two runs (times). */
function manifestOf(cacheDir: string): unknown {
  const m = JSON.parse(
    readFileSync(
      entryFile(cacheDir, (f) => f === 'manifest.json'),
      'utf8',
    ),
  ) as Record<string, unknown>;
  for (const k of ['createdAt', 'completedAt', 'computeSeconds']) delete m[k];
  return m;
}

test(
  'queue: two workers (one SIGKILLed mid-shard) and a restarted coordinator give the in-process bytes',
  { skip, timeout: 240_000 },
  async () => {
    const redis: RedisServer = await startRedis();
    const workers: Proc[] = [];
    const root = tempDir('mmgenre-queue-');
    const cache = join(root, 'cache'); // models (the exported ONNX file) and the reference features
    const savedCache = env.cacheDir;
    env.cacheDir = cache;
    const childEnv = { MMGENRE_CACHE_DIR: cache };
    try {
      const data = sampleSubsetDir(
        MMIMDB_SAMPLE,
        sampleSplits(MMIMDB_SAMPLE, { train: 64, dev: 16, test: 16 }),
        join(root, 'data'),
      );
      const worker = (): Proc => {
        const w = cli(['worker', '--queue', redis.url, '--stall-seconds', '3', '--allow', root], childEnv);
        workers.push(w);
        return w;
      };
      const [a, b] = [worker(), worker()];

      // The reference: the same extraction in this process.
      const dataset = await loadDataset(data);
      await extractFeaturesWithReport(dataset, 'mobilenet_v2_onnx', {
        workers: 0,
        chunkRows: 16,
        progress: false,
      });
      await Promise.all([a.waitFor(/worker ready/), b.waitFor(/worker ready/)]);
      assert.doesNotMatch(a.out() + b.out(), new RegExp(redis.password), 'the password is never printed');

      // Extraction over the queue; worker a is killed once it is busy with its second shard.
      const qCache = join(root, 'queue-cache');
      const coordinator = cli(
        [
          'features',
          'extract',
          '--data',
          data,
          '--encoder',
          'mobilenet_v2_onnx',
          '--cache',
          qCache,
          '--queue',
          redis.url,
          '--chunk-rows',
          '16',
          '--shard-rows',
          '16',
          '--json',
        ],
        childEnv,
      );
      await a.waitFor(/shard \S+ done/);
      await until(() => (a.out().match(/shard \S+ started/g) ?? []).length >= 2);
      const busyWith = a
        .out()
        .match(/shard \S+ started/g)!
        .at(-1)!
        .split(' ')[1];
      a.child.kill('SIGKILL');
      const ended = await coordinator.exited;
      assert.equal(ended.code, 0, coordinator.out());
      const report = JSON.parse(coordinator.out().slice(coordinator.out().indexOf('{'))) as Record<
        string,
        unknown
      >;
      assert.equal(report.computedRows, 96);
      assert.match(String(report.computedOn), /^queue redis:\/\/:\*\*\*@127\.0\.0\.1/);
      // The shard worker a died on was finished by worker b (BullMQ's stalled-job recovery) ...
      const aDone = new Set([...a.out().matchAll(/shard (\S+) done/g)].map((m) => m[1]));
      if (!aDone.has(busyWith))
        assert.match(b.out(), new RegExp(`shard ${busyWith.replace('.', '\\.')} done`));
      // ... and the cache holds every movie once: the bytes and the manifest of the in-process run.
      const ref = readFileSync(entryFile(cache, (f) => f.startsWith('matrix.')));
      assert.ok(
        readFileSync(entryFile(qCache, (f) => f.startsWith('matrix.'))).equals(ref),
        'matrix byte-identical',
      );
      assert.deepEqual(manifestOf(qCache), manifestOf(cache));

      // Batch prediction: a small run trained on those features, predicted in-process and queued.
      const runDir = join(root, 'run');
      const config = parseConfig({
        name: 'queue-mlp',
        inputs: [{ id: 'poster', encoder: 'mobilenet_v2_onnx' }],
        model: { type: 'mlp', hidden: [16] },
        training: { epochs: 2, patience: 0 },
      });
      await trainFromConfig(config, data, { out: runDir, progress: false, extractWorkers: 0 });
      const refOut = join(root, 'ref.jsonl');
      await predictDataset(runDir, data, { out: refOut, split: 'all', progress: false });
      const c = worker();
      await c.waitFor(/worker ready/);
      const out = join(root, 'queued.jsonl');
      const predictArgs = [
        'predict',
        '--model',
        runDir,
        '--data',
        data,
        '--split',
        'all',
        '--out',
        out,
        '--queue',
        redis.url,
        '--shard-rows',
        '16',
      ];
      const first = cli(predictArgs, childEnv);
      // Killed once a finished shard is on disk: the rerun resumes from there.
      const parts = `${out}.parts`;
      await new Promise<void>((res, rej) => {
        const t = setInterval(() => {
          if (existsSync(parts) && readdirSync(parts).some((f) => f.endsWith('.json'))) {
            clearInterval(t);
            first.child.kill('SIGKILL');
            res();
          }
        }, 20);
        void first.exited.then(() => {
          clearInterval(t);
          rej(new Error(`the coordinator ended before it could be killed:\n${first.out()}`));
        });
      });
      const kept = readdirSync(parts).filter((f) => f.endsWith('.json')).length;
      const again = cli(predictArgs, childEnv);
      const done = await again.exited;
      assert.equal(done.code, 0, again.out());
      assert.match(again.out(), /predicted 96 movie\(s\)/);
      assert.ok(kept >= 1 && kept < 6, `resumed from ${kept} finished shard(s)`);
      assert.ok(readFileSync(out).equals(readFileSync(refOut)), 'predictions byte-identical');
      assert.equal(existsSync(parts), false, 'the part files are gone once joined');
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
      env.cacheDir = savedCache;
      redis.stop();
    }
  },
);

test(
  'queue: a bad movie is its own error, a bad job fails alone and is listed',
  { skip, timeout: 120_000 },
  async () => {
    const redis = await startRedis();
    const root = tempDir('mmgenre-queue-');
    const data = sampleSubsetDir(
      MMIMDB_SAMPLE,
      sampleSplits(MMIMDB_SAMPLE, { train: 2 }),
      join(root, 'data'),
    );
    const ids = sampleSplits(MMIMDB_SAMPLE, { train: 2 }).train;
    const w = cli(['worker', '--queue', redis.url, '--stall-seconds', '3'], {});
    try {
      await w.waitFor(/worker ready/);
      const spec = {
        kind: 'dense',
        encoderName: 'mobilenet_v2_onnx',
        options: {},
        module: '',
        dtype: 'float32',
        dim: 1280,
        batchSize: 16,
      } as const;
      const shard = (index: number, build: () => unknown) => ({
        index,
        movies: [`m${index}`],
        build: build as () => JobData,
      });
      const results = new Map<number, Buffer>();
      const report = await runShards({
        target: parseQueueUrl(redis.url),
        run: 'ab'.repeat(16),
        attempts: 1,
        shards: [
          shard(0, () => ({
            kind: 'features',
            run: 'ab'.repeat(16),
            root: join(data),
            spec,
            modality: 'poster',
            chunks: [
              {
                index: 0,
                start: 0,
                end: 3,
                records: [
                  { id: ids[0], plot: null, poster: `dataset/${ids[0]}.jpeg` },
                  { id: 'escape', plot: null, poster: '../../../../etc/passwd' },
                  { id: ids[1], plot: null, poster: `dataset/${ids[1]}.jpeg` },
                ],
              },
            ],
          })),
          shard(1, () => ({
            kind: 'features',
            run: 'ab'.repeat(16),
            root: data,
            spec: { ...spec, module: 'file:///tmp/evil.js' },
            modality: 'poster',
            chunks: [],
          })),
        ],
        onResult: (s, buf) => void results.set(s.index, buf),
      });
      // The malformed job failed without a retry and names its movies; the other went through.
      assert.deepEqual(
        report.failed.map((f) => f.id),
        ['m1'],
      );
      assert.match(report.failed[0].reason, /invalid job/);
      const { header, data: bytes } = unpackResult(results.get(0)!);
      const h = FeaturesResultHeader.parse(header);
      assert.deepEqual(Object.keys(h.chunks[0].errors), ['escape']);
      assert.match(h.chunks[0].errors.escape, /outside the dataset folder/);
      const rows = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      assert.ok(rows.subarray(0, 1280).some((v) => v !== 0) && rows.subarray(2560).some((v) => v !== 0));
      assert.ok(
        rows.subarray(1280, 2560).every((v) => v === 0),
        'the refused movie has no row',
      );

      // A wrong password is a clear error, with the password masked.
      const bad = cli(
        [
          'features',
          'extract',
          '--data',
          data,
          '--encoder',
          'mobilenet_v2_onnx',
          '--cache',
          join(root, 'cache'),
          '--queue',
          redis.url.replace(redis.password, 'nope'),
        ],
        {},
      );
      const end = await bad.exited;
      assert.equal(end.code, 3, bad.out());
      assert.match(
        bad.out(),
        /cannot reach the queue at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0.*\n.*password/,
      );
      assert.doesNotMatch(bad.out(), /nope|at .*\.ts:\d+/);
    } finally {
      w.child.kill('SIGKILL');
      redis.stop();
    }
  },
);

test(
  'queue: rediss:// with a password reaches a TLS redis-server; an untrusted certificate is a clear error',
  { skip: skip || opensslMissing(), timeout: 120_000 },
  async () => {
    const redis = await startRedis({ tls: true });
    const trusted = cli(['worker', '--queue', redis.url], { NODE_EXTRA_CA_CERTS: redis.caFile! });
    try {
      assert.match(await trusted.waitFor(/worker ready/), /on rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0/);
      const untrusted = cli(['worker', '--queue', redis.url], {});
      const end = await untrusted.exited;
      assert.equal(end.code, 3, untrusted.out());
      assert.match(untrusted.out(), /certificate[\s\S]*NODE_EXTRA_CA_CERTS/);
    } finally {
      trusted.child.kill('SIGKILL');
      redis.stop();
    }
  },
);
