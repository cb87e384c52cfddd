/** Helpers the training benchmarks share: CPU time beside wall time, medians. */
import { fit, type FitResult } from '../src/train/index.js';
import type { ModelSpec } from '../src/models/spec.js';
import type { TrainingData, TrainingSettings } from '../src/train/index.js';

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** CPU seconds this process has used (user + system, all threads). */
export const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * `fit` without progress, with the CPU seconds of every epoch (training + dev evaluation): on a
 * shared machine the wall time is an upper bound, the CPU time much less so.
 */
export async function fitWithCpuTimes(
  spec: ModelSpec,
  data: TrainingData,
  settings: TrainingSettings,
): Promise<{ result: FitResult; cpuPerEpoch: number[] }> {
  const cpuPerEpoch: number[] = [];
  let last = cpuSeconds();
  const result = await fit(spec, data, {
    settings,
    progress: false,
    onEpoch: () => {
      const now = cpuSeconds();
      cpuPerEpoch.push(now - last);
      last = now;
    },
  });
  return { result, cpuPerEpoch };
}
