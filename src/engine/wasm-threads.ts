/**
 * tfjs-backend-wasm's threaded SIMD build in Node (off by default; MMGENRE_WASM_THREADS=N or
 * initEngine({ threads: N }) before the first initialisation turns it on).
 *
 * tfjs refuses threads under Node (WASM_HAS_MULTITHREAD_SUPPORT is false there), and forcing the
 * flag is not enough: Emscripten starts its pthread workers from a blob: URL of the worker
 * script, which node:worker_threads cannot load, and the worker then imports the main script
 * from another Blob. So, for the duration of the initialisation only:
 *  - URL.createObjectURL hands out a file path instead, for a copy of tfjs' own worker script
 *    written to the cache folder, patched to import the threaded factory from node_modules;
 *  - os.cpus() reports 2 × N cores, because the C++ side caps the pool at logical cores / 2
 *    (1 thread on a 2-core machine).
 * Measured with 2 threads on the 2-core machine (`MMGENRE_WASM_THREADS=2 npm run bench train engine`):
 * idle, it is faster (head epoch 0.23 vs 0.26 s, biGRU epoch 5.8 vs 7.95 s, fine-tune epoch 16.2
 * vs 22.7 s); busy (load ~20), slower (head epoch 1.83 vs 1.30 s). It stays opt-in because
 * trainMany/run-all already keep both cores busy with one model per worker thread.
 */
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { env } from '../env.js';
import { MmgenreError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';

const require = createRequire(import.meta.url);

/** Threads asked for through the environment (MMGENRE_WASM_THREADS), or undefined. */
export function threadsFromEnvironment(): number | undefined {
  const n = env.engines.wasmThreads;
  if (n === undefined) return undefined;
  if (!Number.isInteger(n) || n < 1)
    throw new MmgenreError('config', `MMGENRE_WASM_THREADS must be a positive integer, got '${n}'`);
  return n;
}

/** The patched pthread worker script, written once per tfjs version into the cache folder. */
function workerScript(): string {
  const pkgRoot = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const version = (JSON.parse(readFileSync(join(pkgRoot, 'package.json'), 'utf8')) as { version: string })
    .version;
  const path = join(env.cacheDir, 'wasm-threads', `pthread-worker-${version}.cjs`);
  if (existsSync(path)) return path;
  const factory = join(pkgRoot, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const original = (
    require(join(pkgRoot, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
      wasmWorkerContents: string;
    }
  ).wasmWorkerContents;
  const patched = original.replace(
    /if\(typeof e\.data\.urlOrBlob=="string"\)\{importScripts\(e\.data\.urlOrBlob\)\}else\{[^}]*\}/,
    `importScripts(${JSON.stringify(factory)});`,
  );
  if (patched === original)
    throw new Error(`tfjs-backend-wasm ${version}'s pthread worker script is not the expected one`);
  mkdirSync(dirname(path), { recursive: true });
  // tfjs escapes newlines the same way before making its Blob (they sit inside string literals).
  writeFileAtomic(path, patched.replace(/\n/g, '\\n'));
  return path;
}

/**
 * Runs `init` (which must initialise the wasm backend) with the threaded build enabled for
 * `threads` threads; afterwards everything patched is restored.
 */
export async function withThreadedWasm<T>(threads: number, init: () => Promise<T>): Promise<T> {
  const script = workerScript();
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (blob: Blob) =>
    blob.type === 'application/javascript' ? script : createObjectURL.call(URL, blob);
  os.cpus = () => Array.from({ length: 2 * threads }, () => cpus()[0]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasmBackend.setThreadsCount(threads);
  // Emscripten unrefs its workers: keep the event loop alive until they have loaded.
  const keepAlive = setInterval(() => undefined, 1000);
  try {
    const result = await init();
    unrefPoolThreads();
    return result;
  } finally {
    clearInterval(keepAlive);
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  }
}

/**
 * XNNPACK's pool threads run for the life of the process, and Emscripten refs the worker of each
 * running pthread, so Node would never exit by itself: unref them (the process ends when the
 * program does, as with the single-threaded build).
 */
function unrefPoolThreads(): void {
  const wasm = (tf.backend() as unknown as { wasm?: { PThread?: PThreadPool } }).wasm;
  const pool = wasm?.PThread;
  if (!pool) return;
  for (const worker of [...(pool.runningWorkers ?? []), ...(pool.unusedWorkers ?? [])]) worker.unref?.();
}

interface PThreadPool {
  runningWorkers?: Array<{ unref?(): void }>;
  unusedWorkers?: Array<{ unref?(): void }>;
}
