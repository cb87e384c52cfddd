/**
 * The declarative model spec: a JSON-serialisable graph of named nodes. The tfjs model
 * (src/models/build.ts) and the model diagram are both made from it, so everything a
 * reader of the diagram needs (sizes, activations, dropout, what is frozen) lives here.
 */

/** Where an input's values come from: a cached encoder output (dense) or token sequences. */
export interface FeatureSource {
  kind: 'features' | 'sequence';
  /** Encoder registry name, e.g. 'mobilenet_v2', 'glove-mean', 'plot-sequences'. */
  encoder: string;
  /** Encoder options (e.g. a trunk `layer` of a CNN), passed to extractFeatures. */
  options?: Record<string, unknown>;
  /** Standardisation applied before the model (statistics fitted on train, stored in the run). */
  normalize?: 'zscore' | 'l2' | 'none';
}

export interface InputSpec {
  /** Node id, e.g. 'poster', 'plot'. */
  id: string;
  modality: 'poster' | 'plot' | 'title' | 'companies';
  source: FeatureSource;
  /** Shape of one example, e.g. [1280] or [200] for a token sequence. */
  shape: number[];
  dtype: 'float32' | 'int32';
}

/** JSON values only, so specs survive JSON.stringify / YAML untouched. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** One operation node. `op` names a registered op (src/models/ops.ts); `inputs` are the edges. */
export interface LayerNode {
  /** Unique id; also the tfjs layer name, so weights in model.json are named after it. */
  id: string;
  op: string;
  /** Ids of upstream nodes (inputs or layers), in argument order. */
  inputs: string[];
  /** Op-specific settings: units, activation, rate, pieces... */
  params: Record<string, JsonValue>;
  /** Weights not updated by training (e.g. a pretrained trunk). */
  frozen?: boolean;
  /** Learning-rate multiplier for this node's weights (e.g. 0.1 for pretrained layers being fine-tuned). */
  lrScale?: number;
  /** Multiplier of the run's weight decay for this node's kernels (e.g. a stronger pull on a gate). */
  decayScale?: number;
  /** Cluster name for the diagram, e.g. 'poster branch', 'classifier'. */
  group?: string;
}

export interface ModelSpec {
  specVersion: 1;
  /** The registry name of the model family that made it, e.g. 'mlp', 'maxout', 'logistic'. */
  family: string;
  /** Human title, e.g. 'MaxoutMLP on MobileNetV2 features'. */
  title: string;
  labels: string[];
  inputs: InputSpec[];
  /** Topologically ordered (every input of a node comes before it). */
  nodes: LayerNode[];
  /** Id of the final node: an 'output' op (dense + sigmoid over `labels`). */
  output: string;
}

export interface SpecEdge {
  from: string;
  to: string;
  /** Argument position at the target. */
  index: number;
}

/**
 * Ops that may end a spec: each ends in a sigmoid layer named after the node whose input is
 * the logits (build.ts reads them there). 'output' is a Dense; fusions add a mixture output.
 */
export const OUTPUT_OPS = new Set<string>(['output']);

/** Every edge of the graph (for the diagram and for validation). */
export function specEdges(spec: ModelSpec): SpecEdge[] {
  const edges: SpecEdge[] = [];
  for (const n of spec.nodes) n.inputs.forEach((from, index) => edges.push({ from, to: n.id, index }));
  return edges;
}

/** Throws naming the first structural problem: duplicate ids, dangling edges, wrong order, no output. */
export function validateSpec(spec: ModelSpec): void {
  const seen = new Set<string>();
  const fail = (msg: string): never => {
    throw new Error(`invalid model spec '${spec.title}': ${msg}`);
  };
  if (spec.specVersion !== 1) fail(`specVersion ${String(spec.specVersion)} is not supported`);
  if (spec.labels.length === 0) fail('no labels');
  if (spec.inputs.length === 0) fail('no inputs');
  for (const i of spec.inputs) {
    if (seen.has(i.id)) fail(`duplicate node id '${i.id}'`);
    if (!i.shape.every((d) => Number.isInteger(d) && d > 0))
      fail(`input '${i.id}' has bad shape [${i.shape}]`);
    seen.add(i.id);
  }
  for (const n of spec.nodes) {
    if (seen.has(n.id)) fail(`duplicate node id '${n.id}'`);
    if (n.inputs.length === 0) fail(`node '${n.id}' has no inputs`);
    for (const from of n.inputs) {
      if (!seen.has(from)) fail(`node '${n.id}' reads '${from}', which is not defined before it`);
    }
    seen.add(n.id);
  }
  const out = spec.nodes.find((n) => n.id === spec.output);
  if (!out) fail(`output node '${spec.output}' does not exist`);
  if (!OUTPUT_OPS.has(out!.op))
    fail(
      `output node '${spec.output}' must be one of the output ops (${[...OUTPUT_OPS].join(', ')}), not '${out!.op}'`,
    );
  if (out!.params.units !== spec.labels.length) {
    fail(`output node has ${String(out!.params.units)} units for ${spec.labels.length} labels`);
  }
  const used = new Set(spec.nodes.flatMap((n) => n.inputs));
  for (const n of [...spec.inputs, ...spec.nodes]) {
    if (n.id !== spec.output && !used.has(n.id)) fail(`node '${n.id}' is not connected to the output`);
  }
}

/** A small builder that keeps node ids unique and the order topological. */
export class SpecBuilder {
  readonly nodes: LayerNode[] = [];
  private readonly counts = new Map<string, number>();

  /** Adds a node and returns its id. `id` defaults to `${op}_${n}`. */
  add(
    op: string,
    inputs: string[],
    params: Record<string, JsonValue> = {},
    extra: Partial<LayerNode> = {},
  ): string {
    let id = extra.id;
    if (!id) {
      const k = (this.counts.get(op) ?? 0) + 1;
      this.counts.set(op, k);
      id = `${op}_${k}`;
    }
    this.nodes.push({ ...extra, id, op, inputs, params });
    return id;
  }
}
