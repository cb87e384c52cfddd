/**
 * Training checkpoints: one file (`checkpoint.bin`) holding the model weights, the Adam state,
 * the best weights so far and the loop state (epoch, RNG states, history), written atomically
 * after every epoch. One file, so a SIGKILL leaves either the previous checkpoint or the new
 * one, never a mix. Layout: 'MMGCKPT1', u32 header length, JSON header, padding to 4 bytes,
 * then the float32 tensors the header lists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';
import { verifyChecksum, writeFileWithChecksum } from '../util/checksum.js';

const MAGIC = 'MMGCKPT1';

export interface StoredTensor {
  shape: number[];
  values: Float32Array;
}

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  /** PRNG states after `epoch` epochs. */
  rng: { shuffle: number; dropout: number };
  best: { epoch: number; score: number } | null;
  /** Epochs since the best one (for early stopping). */
  sinceBest: number;
  /** One entry per completed epoch (whatever the trainer logs). */
  history: unknown[];
  /** Identity of what is being trained; a resume with another spec or settings is refused. */
  fingerprint: string;
  stopReason?: string;
}

export interface Checkpoint {
  state: CheckpointState;
  weights: StoredTensor[];
  optimizer: StoredTensor[];
  bestWeights: StoredTensor[];
}

interface TensorEntry {
  group: 'weights' | 'optimizer' | 'bestWeights';
  shape: number[];
  offset: number;
  length: number;
}

export function writeCheckpoint(path: string, ckpt: Checkpoint): void {
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const group of ['weights', 'optimizer', 'bestWeights'] as const) {
    for (const t of ckpt[group]) {
      entries.push({ group, shape: t.shape, offset, length: t.values.length });
      offset += t.values.length;
    }
  }
  const header = Buffer.from(JSON.stringify({ state: ckpt.state, tensors: entries }), 'utf8');
  const headerEnd = 8 + 4 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const buf = new Uint8Array(dataStart + offset * 4);
  buf.set(Buffer.from(MAGIC, 'ascii'), 0);
  new DataView(buf.buffer).setUint32(8, header.length, true);
  buf.set(header, 12);
  const data = new Float32Array(buf.buffer, dataStart, offset);
  let k = 0;
  for (const group of ['weights', 'optimizer', 'bestWeights'] as const) {
    for (const t of ckpt[group]) data.set(t.values, entries[k++].offset);
  }
  writeFileWithChecksum(path, buf);
}

export class CheckpointError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('input', message, options);
  }
}

export function readCheckpoint(path: string): Checkpoint | null {
  if (!existsSync(path)) return null;
  const file = readFileSync(path);
  verifyChecksum(
    path,
    file,
    'delete it (and its .sha256) and train again without --resume, or restore it from a backup',
  );
  const buf = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 12 || Buffer.from(buf.subarray(0, 8)).toString('ascii') !== MAGIC) {
    throw new CheckpointError(`${path} is not an mmgenre checkpoint`);
  }
  const headerLength = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
  let header: { state: CheckpointState; tensors: TensorEntry[] };
  try {
    header = JSON.parse(Buffer.from(buf.subarray(12, 12 + headerLength)).toString('utf8')) as typeof header;
  } catch {
    throw new CheckpointError(`${path}: unreadable header`);
  }
  const dataStart = Math.ceil((12 + headerLength) / 4) * 4;
  const total = header.tensors.reduce((s, t) => s + t.length, 0);
  if (buf.length !== dataStart + total * 4) {
    throw new CheckpointError(`${path}: truncated (${buf.length} bytes, expected ${dataStart + total * 4})`);
  }
  // Copy out of the file buffer so the tensors own aligned memory.
  const data = new Float32Array(buf.slice(dataStart).buffer);
  const out: Checkpoint = { state: header.state, weights: [], optimizer: [], bestWeights: [] };
  for (const t of header.tensors) {
    out[t.group].push({ shape: t.shape, values: data.subarray(t.offset, t.offset + t.length) });
  }
  return out;
}
