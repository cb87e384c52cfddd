/**
 * The gate hook: a gated fusion (the paper's GMU, the mixture of experts) exposes its gate so that
 * a prediction can say how much each modality drove it. A model opts in with a spec node whose id
 * is 'gmu_gate', 'moe_gate' or 'gate' (or any node with `params.role: 'gate'`). That layer outputs
 * each modality's weight per hidden unit, modality-major in spec input order ([batch, m·units];
 * for two modalities the paper's z and 1 − z). A modality's share is the mean of its weights.
 */
import { tf, tfl } from '../engine/index.js';
import type { LayersModel } from '../models/build.js';
import type { ModelSpec } from '../models/spec.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;

const GATE_NODE_IDS = ['gmu_gate', 'moe_gate', 'gate'];

export interface GateInfo {
  /** Spec node (and tfjs layer) id of the gate. */
  node: string;
  /** Whom each block of the gate's output weighs: the modality of each input, in spec order. */
  modalities: string[];
  /** The distinct modalities, in first-seen order: what shares and contributions are reported by. */
  reported: string[];
}

/** The gate of a spec, or null when the model has none. */
export function findGate(spec: ModelSpec): GateInfo | null {
  const node =
    spec.nodes.find((n) => n.params.role === 'gate') ?? spec.nodes.find((n) => GATE_NODE_IDS.includes(n.id));
  if (!node || spec.inputs.length < 2) return null;
  // Two inputs of one modality (e.g. two poster layers) are summed: the gate's weights and the
  // logit parts are both additive, so the poster's share is the sum of its inputs' shares.
  const modalities = spec.inputs.map((i) => i.modality);
  return { node: node.id, modalities, reported: [...new Set(modalities)] };
}

/** Sum per reported modality of one row's per-input values (`at(k)` for input k). */
function byModality(gate: GateInfo, at: (k: number) => number): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(gate.reported.map((m) => [m, 0]));
  gate.modalities.forEach((m, k) => (out[m] += at(k)));
  return out;
}

/**
 * One model input's rows for a forward pass: dense features (n × dim, row-major, normalised) or,
 * for a sequence input, one token-id sequence per row (not padded).
 */
export type InputRows = Float32Array | Int32Array[];

/**
 * The tensor of one input: dense rows as float32 [n, dim]; sequences as int32 [n, T] right-padded
 * with 0 to the batch's longest sequence (at least 1), exactly as the trainer's batches are
 * (src/train/batches.ts), so the masked recurrence sees the same tokens.
 */
export function inputTensor(rows: InputRows, n: number, dim: number): tf.Tensor2D {
  if (rows instanceof Float32Array) return tf.tensor2d(rows, [n, dim]);
  let T = 1;
  for (const s of rows) T = Math.max(T, s.length);
  const ids = new Int32Array(n * T);
  rows.forEach((s, r) => ids.set(s.subarray(0, T), r * T));
  return tf.tensor2d(ids, [n, T], 'int32');
}

export interface ForwardResult {
  /** n × L probabilities, row-major. */
  probs: Float32Array;
  /** n × m shares (rows sum to 1), row-major in `GateInfo.modalities` order; absent without a gate. */
  shares?: Float32Array;
  /** n × m × L: each modality's additive part of each genre's logit (see `genreLogitParts`). */
  genreParts?: Float32Array;
}

/**
 * Per-genre contributions of a GMU whose classifier is linear on the fused vector (only dropout
 * between the GMU and the output, as shipped). Then a genre's logit splits exactly, with no
 * gradient or sampling: logit_j = Σᵢ Σᵤ W[u, j] · zᵢ,ᵤ · hᵢ,ᵤ + b_j, and modality i's part
 * Σᵤ W[u, j] zᵢ,ᵤ hᵢ,ᵤ is how far it moved genre j from the bias (positive: towards the genre).
 * Null when the classifier has hidden layers (no exact split; the overall gate share remains).
 */
function linearGmuHead(spec: ModelSpec): { combine: string; logits: string } | null {
  const combine = spec.nodes.find((n) => n.op === 'gmu_combine');
  const out = spec.nodes.find((n) => n.id === spec.output);
  if (!combine || !out || out.op !== 'output') return null;
  let at = out.inputs[0];
  for (let node = spec.nodes.find((n) => n.id === at); node?.op === 'dropout'; ) {
    at = node.inputs[0];
    node = spec.nodes.find((n) => n.id === at);
  }
  return at === combine.id ? { combine: combine.id, logits: `${out.id}_logits` } : null;
}

/**
 * Runs a model on prepared (normalised) inputs; with a gate, one pass yields both the
 * probabilities and the gate (a second model over the same layers, so weights are shared).
 */
export class Forward {
  readonly gate: GateInfo | null;
  private readonly gated: LayersModel | null = null;
  /** Output kernel [units, L] of a linear GMU head, when per-genre parts can be computed. */
  private readonly headKernel: tf.Tensor2D | null = null;

  constructor(
    private readonly model: LayersModel,
    spec: ModelSpec,
  ) {
    let gate = findGate(spec);
    if (gate) {
      const layer = model.getLayer(gate.node);
      const z = (Array.isArray(layer.output) ? layer.output[0] : layer.output) as SymbolicTensor;
      const width = z.shape[z.shape.length - 1];
      if (typeof width === 'number' && width % gate.modalities.length === 0) {
        const head = linearGmuHead(spec);
        // h₁ … hₙ: the GMU combine layer's inputs before the gate (spec input order).
        const hs = head
          ? (model.getLayer(head.combine).input as SymbolicTensor[]).slice(0, gate.modalities.length)
          : [];
        this.gated = tfl.model({ inputs: model.inputs, outputs: [model.outputs[0], z, ...hs] });
        if (head) this.headKernel = model.getLayer(head.logits).getWeights()[0] as tf.Tensor2D;
      } else gate = null; // not the modality-major layout: say nothing rather than guess
    }
    this.gate = gate;
  }

  run(xs: InputRows[], n: number, dims: number[]): ForwardResult {
    // Only typed arrays leave the tidy scope (every tensor made here is released).
    let out: ForwardResult = { probs: new Float32Array(0) };
    tf.tidy(() => {
      const ts = xs.map((m, k) => inputTensor(m, n, dims[k]));
      const arg = ts.length === 1 ? ts[0] : ts;
      if (!this.gated || !this.gate) {
        const probs = this.model.predict(arg) as tf.Tensor;
        out = { probs: Float32Array.from(probs.dataSync() as Float32Array) };
        return;
      }
      const [probs, w, ...hs] = this.gated.predict(arg) as tf.Tensor[];
      const m = this.gate.modalities.length;
      const raw = tf.mean(tf.reshape(w, [n, m, -1]), 2);
      // Renormalised so the shares sum to 1 even for a gate that does not (e.g. z alone).
      const shares = tf.div(raw, tf.maximum(tf.sum(raw, 1, true), 1e-9));
      const result: ForwardResult = {
        probs: Float32Array.from(probs.dataSync() as Float32Array),
        shares: Float32Array.from(shares.dataSync() as Float32Array),
      };
      if (this.headKernel && hs.length === m) {
        const units = hs[0].shape[1] as number;
        const zs = tf.split(w, m, 1);
        // [n, m, L]: modality i's part of every genre's logit, (zᵢ ⊙ hᵢ) · W.
        const parts = tf.stack(
          hs.map((h, i) => tf.matMul(tf.mul(zs[i], h), this.headKernel!)),
          1,
        );
        if (zs[0].shape[1] === units) result.genreParts = Float32Array.from(parts.dataSync() as Float32Array);
      }
      out = result;
    });
    return out;
  }

  /** Row `r`'s shares as {modality: share}. */
  contributions(shares: Float32Array, r: number): Record<string, number> | undefined {
    if (!this.gate) return undefined;
    const m = this.gate.modalities.length;
    return byModality(this.gate, (k) => shares[r * m + k]);
  }

  /**
   * Row `r`'s per-genre logit parts as {genre: {modality: part}}: how much each modality pushed
   * each genre's logit up (positive) or down, exactly (their sum plus the genre's bias is the logit).
   */
  genreContributions(
    parts: Float32Array,
    r: number,
    labels: readonly string[],
  ): Record<string, Record<string, number>> | undefined {
    if (!this.gate) return undefined;
    const m = this.gate.modalities.length;
    const L = labels.length;
    return Object.fromEntries(
      labels.map((label, j) => [label, byModality(this.gate!, (k) => parts[(r * m + k) * L + j])]),
    );
  }

  /**
   * The predictions file's `gate` field (what the report reads): for two modalities the poster's
   * share (all poster inputs together; else the first modality's), for more an object
   * {modality: share}.
   */
  gateField(shares: Float32Array, r: number): number | Record<string, number> | undefined {
    if (!this.gate) return undefined;
    const shared = this.contributions(shares, r)!;
    if (this.gate.reported.length === 2) return shared.poster ?? shared[this.gate.reported[0]];
    return shared;
  }
}
