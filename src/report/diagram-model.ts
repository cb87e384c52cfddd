/**
 * What the diagram shows for each spec node (title, detail lines, colour category, frozen),
 * kept apart from layout and drawing so the report and `mmgenre diagram` label nodes alike.
 */
import { describeNode } from '../models/ops.js';
import type { InputSpec, LayerNode, ModelSpec } from '../models/spec.js';

export type BoxCategory = 'input' | 'layer' | 'regularise' | 'fusion' | 'output';

export interface DiagramBox {
  id: string;
  category: BoxCategory;
  /** First line, bold: the node id. */
  title: string;
  /** Further lines: op with sizes, or modality/encoder/shape for an input. */
  lines: string[];
  frozen: boolean;
  /** Cluster name (the spec's `group`), if any. */
  group?: string;
}

const REGULARISERS = new Set([
  'dropout',
  'batchnorm',
  'batch_norm',
  'layernorm',
  'layer_norm',
  'gaussian_noise',
]);

function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The op's own one-line description, or (for an op this process has not registered) op + params. */
export function describeLayer(node: LayerNode): string {
  try {
    return describeNode(node);
  } catch {
    const params = Object.entries(node.params).map(([k, v]) => `${k}=${paramText(v)}`);
    return params.length > 0 ? `${node.op} (${params.join(', ')})` : node.op;
  }
}

function categoryOf(node: LayerNode, spec: ModelSpec): BoxCategory {
  if (node.id === spec.output || node.op === 'output') return 'output';
  if (REGULARISERS.has(node.op)) return 'regularise';
  if (node.inputs.length > 1 || /gmu|gate|fusion|concat|add|sum|expert|average/i.test(node.op))
    return 'fusion';
  return 'layer';
}

function inputBox(input: InputSpec): DiagramBox {
  const lines = [
    `${input.modality} · ${input.source.encoder}`,
    `shape [${input.shape.join('×')}] ${input.dtype}`,
  ];
  if (input.source.normalize && input.source.normalize !== 'none')
    lines.push(`normalise: ${input.source.normalize}`);
  if (input.source.kind === 'sequence') lines.push('token sequence');
  return { id: input.id, category: 'input', title: `${input.id} (input)`, lines, frozen: false };
}

function layerBox(node: LayerNode, spec: ModelSpec): DiagramBox {
  const lines = [describeLayer(node)];
  if (node.frozen) lines.push('frozen: not trained');
  const box: DiagramBox = {
    id: node.id,
    category: categoryOf(node, spec),
    title: node.id,
    lines,
    frozen: Boolean(node.frozen),
  };
  if (node.group) box.group = node.group;
  return box;
}

/** One box per spec input and layer node, in spec order. */
export function diagramBoxes(spec: ModelSpec): DiagramBox[] {
  return [...spec.inputs.map(inputBox), ...spec.nodes.map((n) => layerBox(n, spec))];
}
