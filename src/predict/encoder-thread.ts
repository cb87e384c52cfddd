/**
 * A poster encoder in a worker thread (see threaded-encoder.ts): builds the encoder from its
 * registry name and options (models cannot cross threads), then encodes the batches the main
 * thread sends, one at a time. Protocol: → 'ready' {dim} | 'fatal'; ← {type:'encode', id,
 * records} | 'stop'; → 'rows' {id, rows} | 'failed' {id, message}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MovieRecord } from '../data/types.js';
import { createEncoder, loadBuiltinEncoders } from '../features/registry.js';

export type ThreadRequest = { type: 'encode'; id: number; records: MovieRecord[] } | { type: 'stop' };
export type ThreadReply =
  | { type: 'ready'; dim: number }
  | { type: 'fatal'; message: string }
  | { type: 'rows'; id: number; rows: Array<Float32Array | { error: string }> }
  | { type: 'failed'; id: number; message: string };

const port = parentPort;
if (!port) throw new Error('predict/encoder-thread.ts must run in a worker thread');
const { name, options } = workerData as { name: string; options: Record<string, unknown> };

try {
  await loadBuiltinEncoders();
  const encoder = createEncoder(name, options);
  await encoder.init();
  port.on('message', (m: ThreadRequest) => {
    if (m.type === 'stop') {
      encoder.dispose();
      port.close();
      return;
    }
    encoder.encode(m.records).then(
      (rows) =>
        port.postMessage({ type: 'rows', id: m.id, rows } satisfies ThreadReply, [
          ...new Set(rows.flatMap((r) => (r instanceof Float32Array ? [r.buffer as ArrayBuffer] : []))),
        ]),
      (err: unknown) =>
        port.postMessage({ type: 'failed', id: m.id, message: (err as Error).message } satisfies ThreadReply),
    );
  });
  port.postMessage({ type: 'ready', dim: encoder.dim } satisfies ThreadReply);
} catch (err) {
  port.postMessage({ type: 'fatal', message: (err as Error).message } satisfies ThreadReply);
}
