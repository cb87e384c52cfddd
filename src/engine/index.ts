/**
 * The compute engine: TensorFlow.js on the WebAssembly backend, with the defects of
 * tfjs-backend-wasm 4.22 fixed (see the fix-*.ts modules). Call `initEngine()` once before
 * building models; it is idempotent and cheap after the first call.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers' node bundle registers every op's gradient (tfjs-core's node bundle registers none).
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import { installFastTransposedMatMul } from './fix-matmul.js';
import { installUnsortedSegmentSum } from './fix-segment-sum.js';
import { installConvGradients } from './fix-conv-grads.js';
import { installChainedOps } from './chained-ops.js';
import { installLazyFusedMatMulGradients } from './fix-fused-matmul.js';
import { threadsFromEnvironment, withThreadedWasm } from './wasm-threads.js';

/** tfjs-core and tfjs-layers, the instances the engine configured (chained ops installed by initEngine). */
export { tf, tfl };

export interface EngineOptions {
  /** 'wasm' (default, fast) or 'cpu' (plain JS; the reference the fixes are tested against). */
  backend?: 'wasm' | 'cpu';
  /**
   * Threads for the wasm backend, read when it first initialises (default: MMGENRE_WASM_THREADS,
   * else 1). More than 1 starts tfjs' threaded build under Node (see wasm-threads.ts).
   */
  threads?: number;
}

export interface EngineInfo {
  backend: string;
  threads: number;
  simd: boolean;
  fixes: string[];
}

const state: {
  fixes: string[];
  simd: boolean;
  fixesInstalled: boolean;
  wasmPathsSet: boolean;
  wasmInitialised: boolean;
} = {
  fixes: [],
  simd: false,
  fixesInstalled: false,
  wasmPathsSet: false,
  wasmInitialised: false,
};

/** Folder holding the .wasm binaries shipped in the npm package (resolved, never downloaded). */
export function wasmBinaryDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
}

function installFixes(): void {
  if (state.fixesInstalled) return;
  state.fixesInstalled = true;
  for (const k of installFastTransposedMatMul('wasm')) state.fixes.push(`wasm:${k}:fast-transposed`);
  for (const k of installUnsortedSegmentSum('wasm')) state.fixes.push(`wasm:${k}:added`);
  for (const k of installConvGradients('wasm')) state.fixes.push(`wasm:${k}:added`);
  if (installLazyFusedMatMulGradients()) state.fixes.push('op:fused.matMul:lazy-gradients');
  const chained = installChainedOps();
  if (chained > 0) state.fixes.push(`tensor:chained-ops(${chained})`);
}

/**
 * Registers the wasm backend with the binaries from node_modules, installs the kernel fixes,
 * selects the backend and waits for it. Safe to call many times (and to switch backends).
 */
export async function initEngine(opts: EngineOptions = {}): Promise<void> {
  const backend = opts.backend ?? 'wasm';
  if (!state.wasmPathsSet) {
    wasmBackend.setWasmPaths(wasmBinaryDir());
    state.wasmPathsSet = true;
  }
  installFixes();
  const threads = opts.threads ?? threadsFromEnvironment();
  if (tf.engine().backendName !== backend) {
    // The threaded build is chosen when the wasm backend first initialises (opt-in: wasm-threads.ts).
    const firstWasm = backend === 'wasm' && !state.wasmInitialised;
    const select = () => tf.setBackend(backend);
    const ok =
      firstWasm && threads !== undefined && threads > 1
        ? await withThreadedWasm(threads, select)
        : await select();
    if (!ok) throw new Error(`could not initialise the TensorFlow.js '${backend}' backend`);
    if (backend === 'wasm') state.wasmInitialised = true;
  }
  await tf.ready();
  state.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
}

/** What is running: backend, wasm threads, SIMD, and the list of installed fixes. */
export function engineInfo(): EngineInfo {
  const backend = tf.getBackend() ?? 'none';
  return {
    backend,
    threads: backend === 'wasm' ? wasmBackend.getThreadsCount() : 1,
    simd: backend === 'wasm' && state.simd,
    fixes: [...state.fixes],
  };
}
