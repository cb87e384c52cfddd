/** Model specs for the report tests: a two-branch fusion with a frozen branch, clusters and a merge. */
import { MMIMDB_GENRES } from '../../src/data/genres.js';
import { SpecBuilder, type ModelSpec } from '../../src/models/spec.js';

/** A GMU-shaped spec made of registered ops: frozen poster branch, plot branch, gate, merge. */
export function fusionSpec(labels: readonly string[] = MMIMDB_GENRES): ModelSpec {
  const b = new SpecBuilder();
  const hv = b.add(
    'dense',
    ['poster'],
    { units: 512, activation: 'tanh' },
    { id: 'h_visual', group: 'poster branch', frozen: true },
  );
  const ht = b.add(
    'dense',
    ['plot'],
    { units: 512, activation: 'tanh' },
    { id: 'h_text', group: 'plot branch' },
  );
  const xz = b.add('concat', ['poster', 'plot'], {}, { id: 'gate_input', group: 'gated fusion' });
  const z = b.add(
    'dense',
    [xz],
    { units: 512, activation: 'sigmoid' },
    { id: 'gate_z', group: 'gated fusion' },
  );
  const h = b.add('add', [hv, ht, z], {}, { id: 'fused <h>', group: 'gated fusion' });
  const d = b.add('dropout', [h], { rate: 0.5 }, { id: 'dropout', group: 'classifier' });
  const out = b.add('output', [d], { units: labels.length }, { id: 'output', group: 'classifier' });
  return {
    specVersion: 1,
    family: 'gmu-test',
    title: 'GMU test model on mobilenet_v2 + glove-mean',
    labels: [...labels],
    inputs: [
      {
        id: 'poster',
        modality: 'poster',
        source: { kind: 'features', encoder: 'mobilenet_v2', normalize: 'zscore' },
        shape: [1280],
        dtype: 'float32',
      },
      {
        id: 'plot',
        modality: 'plot',
        source: { kind: 'features', encoder: 'glove-mean', normalize: 'zscore' },
        shape: [100],
        dtype: 'float32',
      },
    ],
    nodes: b.nodes,
    output: out,
  };
}
