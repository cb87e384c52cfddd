/**
 * What a fusion tells about each prediction: which inputs it used (present, not missing) and,
 * for the GMU and the mixture of experts, the gate — each modality's share of the decision.
 * For two modalities the gate is one number, the poster's share in [0, 1] (the mean of z over
 * the GMU's hidden units, summed over the poster's inputs); for more, an object {modality: share}.
 */
import { tf, tfl } from '../../engine/index.js';
import type { LayersModel } from '../build.js';
import type { ModelSpec } from '../spec.js';

export type GateValue = number | Record<string, number>;

export interface FusionAnnotation {
  /** Ids of the inputs present for the movie (the ones the prediction used). */
  inputs: string[];
  gate?: GateValue;
}

/** Gate node ids by family (the node whose output is the per-modality weights). */
const GATE_NODES: Record<string, string> = { gmu: 'gmu_gate', moe: 'moe_gate' };

/**
 * Per-modality shares for each row: a sub-model from the model's inputs to its gate layer
 * (weights shared with the model). `x` are the normalised inputs the model takes.
 */
export function gateShares(
  model: LayersModel,
  spec: ModelSpec,
  x: Float32Array[],
  n: number,
  batchSize = 512,
): number[][] | null {
  const node = GATE_NODES[spec.family];
  if (!node) return null;
  const gateModel = tfl.model({
    inputs: model.inputs,
    outputs: model.getLayer(node).output as InstanceType<typeof tfl.SymbolicTensor>,
  });
  const m = spec.inputs.length;
  const dims = spec.inputs.map((i) => i.shape[0]);
  const shares: number[][] = [];
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const w = tf.tidy(() => {
      const xs = x.map((a, k) =>
        tf.tensor2d(a.subarray(start * dims[k], end * dims[k]), [end - start, dims[k]]),
      );
      return gateModel.predict(xs.length === 1 ? xs[0] : xs) as tf.Tensor;
    });
    const values = w.dataSync() as Float32Array;
    const width = w.shape[1] as number;
    w.dispose();
    const units = width / m;
    for (let r = 0; r < end - start; r++) {
      const row: number[] = [];
      for (let k = 0; k < m; k++) {
        let s = 0;
        for (let u = 0; u < units; u++) s += values[r * width + k * units + u];
        row.push(s / units);
      }
      shares.push(row);
    }
  }
  return shares;
}

/**
 * The shares summed by modality (two poster layers count as the poster): for two modalities the
 * poster's share (else the first modality's), an object {modality: share} for more.
 */
export function gateValue(spec: ModelSpec, share: number[]): GateValue {
  const byModality = new Map<string, number>();
  spec.inputs.forEach((i, k) => {
    byModality.set(i.modality, (byModality.get(i.modality) ?? 0) + share[k]);
  });
  if (byModality.size === 2) return byModality.get('poster') ?? [...byModality.values()][0];
  return Object.fromEntries(byModality);
}

/** Annotations for every row: inputs used, and the gate when the family has one. */
export function annotateFusion(
  model: LayersModel,
  spec: ModelSpec,
  x: Float32Array[],
  missing: Uint8Array[],
  n: number,
): FusionAnnotation[] {
  const shares = gateShares(model, spec, x, n);
  return Array.from({ length: n }, (_, r) => {
    const a: FusionAnnotation = { inputs: spec.inputs.filter((_, k) => !missing[k]?.[r]).map((i) => i.id) };
    if (shares) a.gate = gateValue(spec, shares[r]);
    return a;
  });
}

/** The `annotate` hook of the fusion families (prediction rows get `inputs` and `gate`). */
export function fusionAnnotator(
  model: LayersModel,
  spec: ModelSpec,
  x: Float32Array[],
  missing: Uint8Array[],
  n: number,
): Record<string, unknown>[] {
  return annotateFusion(model, spec, x, missing, n).map((a) => ({ ...a }));
}
