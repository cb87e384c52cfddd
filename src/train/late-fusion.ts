/**
 * Training a late fusion: open the expert runs (found or trained first by the pipeline, given as
 * run directories), fit the per-genre weights on dev (or average), tune thresholds, and write
 * the run folder as any training does (late.json instead of a model).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { multiHot } from '../data/genres.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { initEngine } from '../engine/index.js';
import { evaluate } from '../eval/metrics.js';
import { toPredictionRows, writePredictions } from '../eval/predictions.js';
import { ROBUST_TUNING, tuneThresholds, writeThresholds } from '../eval/thresholds.js';
import { combineLate, lateOptions, lateSpec, type LateOptions } from '../models/fusion/late.js';
import { configToYaml, type TrainConfig } from '../runs/config.js';
import { expertOutputs, LATE_FILE, type LateExperts, type LateFile } from '../runs/late-run.js';
import { loadRun, RUN_FILES, versions, writeRunInfo, type LoadedRun, type RunInfo } from '../runs/run.js';
import { isFinishedRun } from '../runs/sources.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import type { TrainRunOptions, TrainRunResult } from './types.js';

/**
 * Per-genre weights (softmax of free parameters, so they stay positive and sum to 1) that
 * minimise the log-loss of the combined probability on dev. Plain gradient descent by hand:
 * one tiny smooth problem per genre (a few hundred movies × experts), no library needed.
 */
export function fitLateWeights(
  probs: Float32Array[],
  missing: Uint8Array[],
  y: Uint8Array,
  n: number,
  L: number,
  steps = 300,
  lr = 0.5,
): number[][] {
  const K = probs.length;
  const weights = Array.from({ length: K }, () => new Array<number>(L).fill(1 / K));
  const eps = 1e-6;
  for (let j = 0; j < L; j++) {
    const a = new Float64Array(K);
    for (let step = 0; step < steps; step++) {
      const maxA = Math.max(...a);
      const e = Array.from(a, (v) => Math.exp(v - maxA));
      const sumE = e.reduce((s, v) => s + v, 0);
      const w = e.map((v) => v / sumE);
      const gradW = new Float64Array(K);
      for (let r = 0; r < n; r++) {
        const present = probs.map((_, k) => !missing[k][r]);
        const usable = present.some(Boolean) ? present : present.map(() => true);
        let den = 0;
        let num = 0;
        for (let k = 0; k < K; k++)
          if (usable[k]) {
            den += w[k];
            num += w[k] * probs[k][r * L + j];
          }
        const p = Math.min(1 - eps, Math.max(eps, num / den));
        const dLdp = y[r * L + j] ? -1 / p : 1 / (1 - p);
        for (let k = 0; k < K; k++) if (usable[k]) gradW[k] += (dLdp * (probs[k][r * L + j] - p)) / den / n;
      }
      // Through the softmax: dL/da_k = w_k (g_k − Σ w_i g_i).
      const mean = w.reduce((s, wk, k) => s + wk * gradW[k], 0);
      for (let k = 0; k < K; k++) a[k] -= lr * w[k] * (gradW[k] - mean) * 10;
    }
    const maxA = Math.max(...a);
    const e = Array.from(a, (v) => Math.exp(v - maxA));
    const sumE = e.reduce((s, v) => s + v, 0);
    for (let k = 0; k < K; k++) weights[k][j] = e[k] / sumE;
  }
  return weights;
}

/**
 * Open the expert runs of a late-fusion config. The training pipeline has already found (or
 * trained) them and given `experts` as their run directories (runs/sources.ts).
 */
async function expertsFor(config: TrainConfig, o: LateOptions): Promise<LateExperts> {
  const ids: string[] = [];
  const runs: LoadedRun[] = [];
  const dirs: string[] = [];
  for (const input of config.inputs) {
    const dir = o.experts[input.id];
    if (!dir) throw new Error(`model.experts: no expert run for input '${input.id}'`);
    if (!isFinishedRun(dir))
      throw new Error(`model.experts.${input.id}: ${dir} is not a finished run (train it first)`);
    const run = await loadRun(dir);
    ids.push(input.id);
    runs.push(run);
    dirs.push(dir);
  }
  return { ids, runs, dirs };
}

function truthOf(dataset: Dataset, ids: string[]): Uint8Array {
  const byId = new Map(dataset.records.map((r) => [r.id, r]));
  const L = dataset.labels.length;
  const y = new Uint8Array(ids.length * L);
  ids.forEach((id, r) => y.set(multiHot(byId.get(id)!.genres, dataset.labels), r * L));
  return y;
}

const rows = (
  flat: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
  n: number,
  L: number,
) => Array.from({ length: n }, (_, i) => flat.subarray(i * L, (i + 1) * L));

export async function trainLate(
  config: TrainConfig,
  dataDir: string,
  opts: TrainRunOptions,
): Promise<TrainRunResult> {
  const t0 = performance.now();
  await initEngine({ backend: opts.backend });
  const { type: _type, ...raw } = config.model;
  const o = lateOptions.parse(raw);
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const dataset = await loadDataset(dataDir);
  const experts = await expertsFor(config, o);
  const labels = dataset.labels;
  const L = labels.length;
  const byId = new Set(dataset.records.map((r) => r.id));
  const devIds = dataset.splits.dev.filter((id) => byId.has(id));
  const testIds = dataset.splits.test.filter((id) => byId.has(id));
  const dev = await expertOutputs(dataset, experts, devIds);
  const devY = truthOf(dataset, devIds);
  const K = experts.runs.length;
  const weights =
    o.mode === 'weighted'
      ? fitLateWeights(dev.probs, dev.missing, devY, devIds.length, L)
      : Array.from({ length: K }, () => new Array<number>(L).fill(1 / K));
  const lateFile: LateFile = {
    mode: o.mode,
    experts: Object.fromEntries(experts.ids.map((id, k) => [id, experts.dirs[k]])),
    weights,
    labels,
  };
  const devProb = combineLate(dev.probs, dev.missing, weights, devIds.length, L);
  const devTrue = rows(devY, devIds.length, L);
  const devRows = rows(devProb, devIds.length, L);
  const thresholds = tuneThresholds(devTrue, devRows, ROBUST_TUNING);

  const inputs = experts.runs.map((r, k) => ({ ...r.spec.inputs[0], id: experts.ids[k] }));
  writeFileAtomic(join(out, RUN_FILES.config), configToYaml(config));
  writeJsonAtomic(join(out, RUN_FILES.spec), lateSpec(o, labels, inputs));
  writeJsonAtomic(join(out, LATE_FILE), lateFile);
  writeThresholds(join(out, RUN_FILES.thresholds), {
    labels,
    thresholds,
    tunedOn: 'dev',
    policy: { ...ROBUST_TUNING },
  });
  const annotated = (ids: string[], probsFlat: Float32Array, missing: Uint8Array[]) =>
    toPredictionRows(ids, rows(probsFlat, ids.length, L), labels).map((row, r) => ({
      ...row,
      inputs: experts.ids.filter((_, k) => !missing[k][r]),
    }));
  writePredictions(join(out, RUN_FILES.predictionsDev), annotated(devIds, devProb, dev.missing));
  const evalJson: Record<string, unknown> = {
    run: config.name,
    dev: {
      at05: evaluate(devTrue, devRows, labels, { threshold: 0.5 }),
      tuned: evaluate(devTrue, devRows, labels, { threshold: thresholds }),
    },
  };
  let test: TrainRunResult['test'];
  if (testIds.length > 0) {
    const t = await expertOutputs(dataset, experts, testIds);
    const prob = combineLate(t.probs, t.missing, weights, testIds.length, L);
    const truth = rows(truthOf(dataset, testIds), testIds.length, L);
    const probRows = rows(prob, testIds.length, L);
    writePredictions(join(out, RUN_FILES.predictionsTest), annotated(testIds, prob, t.missing));
    const at05 = evaluate(truth, probRows, labels, { threshold: 0.5 });
    const tuned = evaluate(truth, probRows, labels, { threshold: thresholds });
    evalJson.test = { at05, tuned };
    test = { at05: at05.f1, tuned: tuned.f1 };
  }
  writeJsonAtomic(join(out, RUN_FILES.eval), evalJson);
  const devMacro = (evalJson.dev as { at05: { f1: { macro: number } } }).at05.f1.macro;
  const info: RunInfo = {
    name: config.name,
    status: 'done',
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    data: {
      path: dataset.root,
      name: dataset.name,
      format: dataset.format,
      labels,
      sizes: { train: 0, dev: devIds.length, test: testIds.length },
    },
    features: experts.runs.map((r, k) => ({
      input: experts.ids[k],
      encoder: r.config.inputs[0].encoder,
      dim: r.spec.inputs[0].shape[0],
      missing: {},
      cacheEntry: experts.dirs[k],
    })),
    versions: versions(),
    seed: config.training.seed,
    epochsRun: 0,
    bestEpoch: 0,
    bestDevMacroF1: devMacro,
    stopReason: 'completed',
    trainSeconds: (performance.now() - t0) / 1000,
  };
  writeRunInfo(out, info);
  experts.runs.forEach((r) => r.model.dispose());
  return {
    dir: out,
    status: 'done',
    fit: { bestEpoch: 0, bestDevMacroF1: devMacro, history: [], stopReason: 'completed', resumedFrom: 0 },
    test,
  };
}
