/** The model diagram: a spec laid out by ELK and drawn as SVG (`mmgenre diagram`, the report). */
import type { ModelSpec } from '../models/spec.js';
import { layoutSpec, type DiagramDirection } from './diagram-layout.js';
import { diagramToSvg } from './diagram-svg.js';

export interface RenderDiagramOptions {
  direction?: DiagramDirection;
  /** Unique per page when several diagrams are inlined in one HTML file. */
  idPrefix?: string;
  legend?: boolean;
  /** Draw the spec's title above the graph (default true). */
  title?: boolean;
}

/** The spec's diagram as a standalone SVG document string. */
export async function renderSpecDiagram(spec: ModelSpec, opts: RenderDiagramOptions = {}): Promise<string> {
  const layout = await layoutSpec(spec, opts.direction ?? 'RIGHT');
  const frozen = spec.nodes.filter((node) => node.frozen).length;
  const params = [
    `family ${spec.family}`,
    `${spec.inputs.length} input(s)`,
    `${spec.nodes.length} layer nodes`,
  ];
  if (frozen > 0) params.push(`${frozen} frozen`);
  params.push(`${spec.labels.length} genres`);
  return diagramToSvg(layout, {
    title: opts.title === false ? undefined : spec.title,
    subtitle: opts.title === false ? undefined : params.join(' · '),
    idPrefix: opts.idPrefix,
    legend: opts.legend,
  });
}
