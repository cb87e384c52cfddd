import { Worker, type WorkerOptions } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

/**
 * Start a worker thread from a module URL. When running from TypeScript sources (no build),
 * the worker gets tsx as its loader: module hooks are per thread and are not inherited.
 */
export function startWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  const isTs = moduleUrl.pathname.endsWith('.ts');
  const execArgv = [...(options.execArgv ?? process.execArgv)];
  if (isTs && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', 'tsx');
  return new Worker(moduleUrl, { ...options, execArgv });
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
