/**
 * Filling cache entries: under each entry's lock, reuse what is good, compute the rest (see
 * pool.ts), assemble the finished matrix and manifest, and report. Killed at any point, the next
 * run resumes from the chunks on disk.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/types.js';
import { env } from '../env.js';
import {
  acquireLock,
  bytesPerValue,
  matrixFileName,
  readChunkData,
  removeChunks,
  writeManifest,
  writeMatrixFile,
  CorruptCacheError,
  type ChunkRecord,
  type FeatureManifest,
  type SourceStamp,
} from './store.js';
import { recomputeText } from './recompute.js';
import { finishedEntry, openEntry, type ChunkSlot, type OpenEntry, type Plan } from './plan.js';
import { computeEntries } from './pool.js';
import { makeReport, NOTHING_RECOMPUTED, summariseRecompute, type ExtractReport } from './extract-report.js';
import type { ExtractOptions } from './extract-options.js';

/**
 * Fill the cache entries of `plans` (one report each, in order). Plans given together are
 * variants of one encoder that can be computed in one pass (see extractFeatureSet): the chunks
 * any of them lacks are computed once by the joint encoder and written to each entry that lacks
 * them. `t0`: when the call started (loading the encoder to learn its key counts in the time).
 */
export async function runPlans(
  dataset: Dataset,
  plans: Plan[],
  opts: ExtractOptions,
  t0: number,
): Promise<ExtractReport[]> {
  const verify = opts.verify ?? true;
  const n = dataset.records.length;
  const reports = new Array<ExtractReport>(plans.length);
  const reuse = (k: number, m: FeatureManifest): void => {
    plans[k].ready?.dispose();
    reports[k] = makeReport(plans[k], m, 0, n, NOTHING_RECOMPUTED, 0, performance.now() - t0);
  };
  const work: number[] = [];
  plans.forEach((plan, k) => {
    const m = finishedEntry(plan, verify);
    if (m) reuse(k, m);
    else work.push(k);
  });
  if (!work.length) return reports;

  const releases: Array<() => void> = [];
  try {
    // Locks in a fixed order, so that two processes joining overlapping entries cannot deadlock.
    for (const k of [...work].sort((a, b) => (plans[a].dir < plans[b].dir ? -1 : 1))) {
      releases.push(
        await acquireLock(plans[k].dir, {
          onWait: (holder) => {
            if (opts.progress !== false && !env.quiet)
              process.stderr.write(`waiting for ${holder}, which is extracting the same features\n`);
          },
        }),
      );
    }
    const open: OpenEntry[] = [];
    for (const k of work) {
      // Re-read under the lock: whoever held it may have finished or advanced the work.
      const m = finishedEntry(plans[k], verify);
      if (m) reuse(k, m);
      else open.push(openEntry(dataset, plans[k], k, opts, verify));
    }
    if (opts.progress !== false && !env.quiet) {
      for (const o of open) {
        const r = summariseRecompute(o);
        if (r.chunks > 0) process.stderr.write(`features ${o.plan.encoderName}: ${recomputeText(r)}\n`);
      }
    }
    // Entries computed together must cut the same chunks and encoder batches.
    const groups = new Map<string, OpenEntry[]>();
    for (const o of open) {
      const key = `${o.base.chunkRows}/${o.base.batchSize}`;
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    for (const group of groups.values()) {
      const { computeSeconds, workersUsed } = await computeEntries(dataset, group, opts);
      for (const o of group) {
        const finished = finish(o.plan, o.base, o.slots, o.done, computeSeconds / group.length);
        reports[o.index] = makeReport(
          o.plan,
          finished,
          o.pendingRows,
          n - o.pendingRows,
          summariseRecompute(o),
          workersUsed,
          performance.now() - t0,
        );
        if (opts.runner && o.pendingRows > 0) reports[o.index].computedOn = opts.runner.label;
      }
    }
  } finally {
    for (const release of releases.reverse()) release();
  }
  return reports;
}

/** Assemble the finished file from chunks (and slices of an earlier matrix), then the manifest. */
function finish(
  plan: Plan,
  base: FeatureManifest,
  slots: ChunkSlot[],
  done: Map<number, { rec: ChunkRecord; source: 'chunk' | 'matrix' }>,
  computeSeconds: number,
): FeatureManifest {
  const oldMatrix =
    base.matrix && existsSync(join(plan.dir, base.matrix.file))
      ? readFileSync(join(plan.dir, base.matrix.file))
      : null;
  const oldOffsets = new Map<number, number>();
  let off = 0;
  for (const c of base.complete ? base.chunks : []) {
    oldOffsets.set(c.index, off);
    off += c.bytes;
  }
  const records = slots.map((s) => done.get(s.index)!);
  function* parts(): Generator<Uint8Array> {
    for (const { rec, source } of records) {
      if (source === 'chunk') yield readChunkData(plan.dir, rec.index);
      else {
        const o = oldOffsets.get(rec.index)!;
        yield oldMatrix!.subarray(o, o + rec.bytes);
      }
    }
  }
  const file = matrixFileName(plan.dtype);
  const bytes = writeMatrixFile(join(plan.dir, file), parts());
  const expected =
    plan.kind === 'dense' ? plan.identity.ids.length * plan.dim * bytesPerValue(plan.dtype) : bytes;
  if (bytes !== expected) throw new CorruptCacheError(`assembled ${bytes} bytes, expected ${expected}`);

  const missing: Record<string, string> = {};
  const sources: Record<string, SourceStamp> = {};
  const chunks = records.map((r) => r.rec);
  for (const c of chunks) Object.assign(missing, c.errors);
  plan.identity.ids.forEach((id, i) => {
    const s = { ...plan.stamps[i] };
    const h = chunks.find((c) => i >= c.start && i < c.end)?.contentHashes[id] ?? base.sources[id]?.sha256;
    if (h && s.path) s.sha256 = h;
    sources[id] = s;
  });
  const m: FeatureManifest = {
    ...base,
    complete: true,
    matrix: { file, bytes },
    chunks,
    missing,
    sources,
    completedAt: new Date().toISOString(),
    computeSeconds: base.computeSeconds + computeSeconds,
  };
  writeManifest(plan.dir, m);
  removeChunks(plan.dir); // their bytes now live in the matrix, covered by the same checksums
  return m;
}
