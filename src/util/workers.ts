import { Worker, type WorkerOptions } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { workerEnvironment } from '../env.js';

/**
 * Start a worker thread from a module URL.
 *
 * From TypeScript sources (no build), the worker needs tsx as its loader: module hooks are per
 * thread, and Node 20 does not apply an inherited `--import tsx` to a worker's entry module (it
 * fails with "Unknown file extension .ts"). So the worker starts from a tiny evaluated bootstrap
 * that registers tsx in the worker, then imports the module. Built (.js) modules start directly.
 */
export function startWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  options = { env: workerEnvironment(), ...options };
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((m) => { m.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** Default worker count: every core (this project's machines have 2). */
export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** URL of a sibling module, with the same extension as the caller (.ts from source, .js when built). */
export function siblingModule(callerUrl: string, baseName: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${baseName}${ext}`, callerUrl);
}

/**
 * Resolves when `w` has exited by itself; terminates it only if it is still running after
 * `graceMs`. Finished workers release their native sessions and end on their own: terminating
 * one while onnxruntime tears its session down can abort the whole process ("terminate called
 * after throwing an instance of 'Napi::Error'", seen with training workers).
 */
export function exitOrTerminate(w: Worker, graceMs = 30_000): Promise<void> {
  return new Promise((resolveExit) => {
    if (w.threadId === -1) return resolveExit(); // already gone
    const lingering = setTimeout(() => void w.terminate(), graceMs);
    w.once('exit', () => {
      clearTimeout(lingering);
      resolveExit();
    });
  });
}
