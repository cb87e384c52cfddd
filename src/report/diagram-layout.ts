/**
 * Lays the model graph out with ELK (layered algorithm): `group`s become compound nodes, edges
 * are routed orthogonally by ELK, and the result is flattened to absolute coordinates.
 */
import elkBundled from 'elkjs/lib/elk.bundled.js';
import type { ELK as ElkInstance, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { specEdges, type ModelSpec } from '../models/spec.js';
import { diagramBoxes, type DiagramBox } from './diagram-model.js';
import { textWidth } from './text.js';

export type DiagramDirection = 'RIGHT' | 'DOWN';

export const BOX_STYLE = {
  titleSize: 12.5,
  lineSize: 11,
  lineHeight: 15,
  padX: 10,
  padY: 8,
  lockWidth: 16,
  minWidth: 120,
};
const CLUSTER_LABEL_SIZE = 12;

export interface Point {
  x: number;
  y: number;
}

export interface PlacedBox extends DiagramBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedCluster {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  /** True when every node in it is frozen (drawn as a frozen block). */
  frozen: boolean;
}

export interface PlacedEdge {
  from: string;
  to: string;
  /** Polyline from the source's border to the target's border. */
  points: Point[];
}

export interface DiagramLayout {
  width: number;
  height: number;
  boxes: PlacedBox[];
  clusters: PlacedCluster[];
  edges: PlacedEdge[];
}

const CLUSTER_PREFIX = 'cluster:';

// elk.bundled.js is CommonJS: Node's ESM loader hands over module.exports (the constructor),
// while TypeScript types the default import as the namespace; accept either.
type ElkConstructor = new () => ElkInstance;
const ELK = ((elkBundled as unknown as { default?: ElkConstructor }).default ??
  elkBundled) as unknown as ElkConstructor;

/** Box size from its text (ELK does not measure text; we must give it sizes). */
export function boxSize(box: DiagramBox): { width: number; height: number } {
  const s = BOX_STYLE;
  const titleW = textWidth(box.title, s.titleSize, true) + (box.frozen ? s.lockWidth : 0);
  const linesW = Math.max(0, ...box.lines.map((l) => textWidth(l, s.lineSize)));
  return {
    width: Math.ceil(Math.max(s.minWidth, titleW, linesW) + 2 * s.padX),
    height: Math.ceil(2 * s.padY + s.lineHeight * (1 + box.lines.length)),
  };
}

/** Lay the spec's graph out; coordinates in the result are absolute (top-left origin). */
export async function layoutSpec(
  spec: ModelSpec,
  direction: DiagramDirection = 'RIGHT',
): Promise<DiagramLayout> {
  const boxes = diagramBoxes(spec);
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const clusterOf = (id: string): string | undefined => byId.get(id)?.group;

  const root: ElkNode = {
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': direction,
      'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
      'elk.edgeRouting': 'ORTHOGONAL',
      'elk.layered.spacing.nodeNodeBetweenLayers': '44',
      'elk.spacing.nodeNode': '24',
      'elk.spacing.edgeNode': '16',
      'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
      'elk.padding': '[top=8,left=8,bottom=8,right=8]',
    },
    children: [],
    edges: [],
  };
  const clusters = new Map<string, ElkNode>();
  for (const b of boxes) {
    const node: ElkNode = { id: b.id, ...boxSize(b) };
    if (!b.group) {
      root.children!.push(node);
      continue;
    }
    let c = clusters.get(b.group);
    if (!c) {
      c = {
        id: CLUSTER_PREFIX + b.group,
        layoutOptions: { 'elk.padding': `[top=${CLUSTER_LABEL_SIZE + 20},left=14,bottom=14,right=14]` },
        children: [],
        edges: [],
      };
      clusters.set(b.group, c);
      root.children!.push(c);
    }
    c.children!.push(node);
  }
  specEdges(spec).forEach((e, k) => {
    const edge: ElkExtendedEdge = { id: `e${k}`, sources: [e.from], targets: [e.to] };
    const g = clusterOf(e.from);
    // An edge lives in the lowest compound node holding both ends (ELK's rule for coordinates).
    if (g && g === clusterOf(e.to)) clusters.get(g)!.edges!.push(edge);
    else root.edges!.push(edge);
  });

  const elk = new ELK();
  const laid = await elk.layout(root);

  const offsets = new Map<string, Point>([['root', { x: 0, y: 0 }]]);
  const placedBoxes: PlacedBox[] = [];
  const placedClusters: PlacedCluster[] = [];
  for (const child of laid.children ?? []) {
    const x = child.x ?? 0;
    const y = child.y ?? 0;
    if (child.id.startsWith(CLUSTER_PREFIX)) {
      const name = child.id.slice(CLUSTER_PREFIX.length);
      offsets.set(child.id, { x, y });
      const members = (child.children ?? []).map((m) => byId.get(m.id)!);
      placedClusters.push({
        name,
        x,
        y,
        width: child.width ?? 0,
        height: child.height ?? 0,
        frozen: members.length > 0 && members.every((m) => m.frozen),
      });
      for (const m of child.children ?? []) {
        placedBoxes.push({
          ...byId.get(m.id)!,
          x: x + (m.x ?? 0),
          y: y + (m.y ?? 0),
          width: m.width!,
          height: m.height!,
        });
      }
    } else {
      placedBoxes.push({ ...byId.get(child.id)!, x, y, width: child.width!, height: child.height! });
    }
  }
  const edges: PlacedEdge[] = [];
  const collectEdges = (node: ElkNode): void => {
    for (const e of node.edges ?? []) {
      const container = (e as ElkExtendedEdge & { container?: string }).container ?? node.id;
      const off = offsets.get(container) ?? offsets.get(node.id)!;
      for (const s of e.sections ?? []) {
        const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => ({
          x: p.x + off.x,
          y: p.y + off.y,
        }));
        edges.push({ from: e.sources[0], to: e.targets[0], points: pts });
      }
    }
    for (const c of node.children ?? []) if (c.id.startsWith(CLUSTER_PREFIX)) collectEdges(c);
  };
  collectEdges(laid);
  // Keep spec order for boxes: stable output for tests and diffs.
  const order = new Map(boxes.map((b, i) => [b.id, i]));
  placedBoxes.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return {
    width: laid.width ?? 0,
    height: laid.height ?? 0,
    boxes: placedBoxes,
    clusters: placedClusters,
    edges,
  };
}
