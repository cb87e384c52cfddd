/**
 * Feature-extraction worker thread: builds its own encoder from name + options (models cannot
 * cross threads), then computes the chunks the main thread hands it, one at a time.
 * Protocol: → 'ready' | 'fatal'; ← {type:'chunk', index, records}; → 'done' | 'fatal'.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MovieRecord } from '../data/types.js';
import { buildComputer, type ChunkOutput, type ComputerSpec } from './compute.js';

export type WorkerRequest = { type: 'chunk'; index: number; records: MovieRecord[] } | { type: 'stop' };
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'done'; index: number; outputs: ChunkOutput[] }
  | { type: 'fatal'; message: string; stack?: string };

const port = parentPort;
if (!port) throw new Error('features/worker.ts must run in a worker thread');

function fatal(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  port!.postMessage({ type: 'fatal', message: e.message, stack: e.stack } satisfies WorkerReply);
}

try {
  const computer = await buildComputer(workerData as ComputerSpec);
  port.on('message', (msg: WorkerRequest) => {
    if (msg.type === 'stop') {
      computer.dispose();
      port.close();
      return;
    }
    computer.computeChunk(msg.records).then((outputs) => {
      const reply: WorkerReply = { type: 'done', index: msg.index, outputs };
      port.postMessage(
        reply,
        outputs.map((o) => o.bytes.buffer as ArrayBuffer),
      );
    }, fatal);
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
} catch (err) {
  fatal(err);
}
