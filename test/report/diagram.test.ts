import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import '../../src/models/index.js';
import { layoutSpec } from '../../src/report/diagram-layout.js';
import { describeLayer } from '../../src/report/diagram-model.js';
import { renderSpecDiagram } from '../../src/report/diagram.js';
import { specFromConfig } from '../../src/report/spec-source.js';
import { escapeXml } from '../../src/report/text.js';
import { loadConfig, parseConfig } from '../../src/runs/config.js';
import { runCli, tempDir } from '../helpers/shared.js';
import { fusionSpec } from './fixtures.js';
import { assertWellFormedXml } from './svg-check.js';

test('the diagram of a two-branch fusion names every node, its op and sizes, and marks the frozen branch', async () => {
  const spec = fusionSpec();
  const svg = await renderSpecDiagram(spec, { idPrefix: 'gmu' });
  assertWellFormedXml(svg, 'diagram SVG');
  for (const input of spec.inputs) {
    assert.ok(svg.includes(`>${input.id} (input)<`), `input ${input.id} labelled`);
    assert.ok(svg.includes(`shape [${input.shape.join('×')}] float32`), `input ${input.id} shape shown`);
    assert.ok(svg.includes(input.source.encoder), `encoder of ${input.id} shown`);
  }
  for (const node of spec.nodes) {
    assert.ok(svg.includes(`>${escapeXml(node.id)}<`), `node ${node.id} labelled`);
    assert.ok(svg.includes(escapeXml(describeLayer(node))), `node ${node.id} described`);
  }
  // The id with markup characters is escaped, never emitted raw.
  assert.ok(svg.includes('fused &lt;h&gt;') && !svg.includes('fused <h>'));
  assert.ok(
    svg.includes('Dense 512 · tanh') && svg.includes('Dropout 0.5') && svg.includes('Dense 23 · sigmoid'),
  );
  // Frozen node drawn hatched with a lock; its cluster is labelled frozen.
  assert.match(svg, /data-id="h_visual"[^>]*data-frozen="true"/);
  assert.match(svg, /<g class="lock"/);
  assert.ok(svg.includes('poster branch (frozen)'));
  assert.ok(!/data-id="h_text"[^>]*data-frozen/.test(svg));
  // One arrow per spec edge, and a legend.
  const edges = spec.nodes.reduce((a, n) => a + n.inputs.length, 0);
  assert.equal(svg.match(/class="edge"/g)?.length, edges);
  assert.ok(svg.includes('class="legend"'));
});

test('ELK places clusters around their members and routes every edge between its two boxes', async () => {
  const spec = fusionSpec();
  const layout = await layoutSpec(spec, 'RIGHT');
  assert.deepEqual(layout.clusters.map((c) => c.name).sort(), [
    'classifier',
    'gated fusion',
    'plot branch',
    'poster branch',
  ]);
  const box = new Map(layout.boxes.map((b) => [b.id, b]));
  for (const b of layout.boxes) {
    if (!b.group) continue;
    const c = layout.clusters.find((k) => k.name === b.group)!;
    assert.ok(
      b.x >= c.x &&
        b.y >= c.y &&
        b.x + b.width <= c.x + c.width + 0.5 &&
        b.y + b.height <= c.y + c.height + 0.5,
      `${b.id} inside ${c.name}`,
    );
  }
  assert.equal(layout.clusters.find((c) => c.name === 'poster branch')!.frozen, true);
  const near = (v: number, lo: number, hi: number): boolean => v >= lo - 1 && v <= hi + 1;
  for (const e of layout.edges) {
    const from = box.get(e.from)!;
    const to = box.get(e.to)!;
    const [s, t] = [e.points[0], e.points[e.points.length - 1]];
    assert.ok(
      near(s.x, from.x, from.x + from.width) && near(s.y, from.y, from.y + from.height),
      `edge ${e.from}→${e.to} starts on its source`,
    );
    assert.ok(
      near(t.x, to.x, to.x + to.width) && near(t.y, to.y, to.y + to.height),
      `edge ${e.from}→${e.to} ends on its target`,
    );
  }
  // Left to right: every edge goes rightwards.
  for (const e of layout.edges)
    assert.ok(e.points[e.points.length - 1].x > e.points[0].x, `${e.from}→${e.to} flows right`);
  const down = await layoutSpec(spec, 'DOWN');
  for (const e of down.edges)
    assert.ok(e.points[e.points.length - 1].y > e.points[0].y, `${e.from}→${e.to} flows down`);
});

test('a config becomes the spec the trainer builds, with the encoder sizes known without features', async () => {
  const frozen = loadConfig('poster-frozen');
  const spec = await specFromConfig(frozen);
  assert.deepEqual(spec.inputs[0].shape, [1280]);
  assert.equal(spec.labels.length, 23);
  assert.equal(spec.family, frozen.model.type);
  const withDim = parseConfig({
    name: 'x',
    inputs: [{ id: 'poster', encoder: 'onnx', options: { modelPath: '/nope.onnx' }, dim: 77 }],
    model: { type: 'logistic' },
  });
  assert.deepEqual((await specFromConfig(withDim)).inputs[0].shape, [77]);
  // An encoder that learns its size on load is loaded (no features are extracted)...
  const loaded = parseConfig({
    name: 'x',
    inputs: [{ id: 'poster', encoder: 'mobilenet_v2_onnx' }],
    model: { type: 'logistic' },
  });
  assert.deepEqual((await specFromConfig(loaded)).inputs[0].shape, [1280]);
  // ...and one that cannot load says what to add.
  const noDim = parseConfig({
    name: 'x',
    inputs: [{ id: 'poster', encoder: 'onnx', options: { modelPath: '/nope.onnx' } }],
    model: { type: 'logistic' },
  });
  await assert.rejects(specFromConfig(noDim), /add 'dim: N'/);
});

test('mmgenre diagram writes an SVG from a shipped config and refuses bad arguments', () => {
  const dir = tempDir();
  const out = join(dir, 'model.svg');
  const r = runCli(['diagram', '--config', 'text-mlp-meanglove', '--out', out, '--direction', 'down']);
  assert.equal(r.status, 0, r.stderr);
  const svg = readFileSync(out, 'utf8');
  assertWellFormedXml(svg, 'CLI diagram');
  for (const id of ['plot (input)', 'hidden_1', 'dropout_1', 'output'])
    assert.ok(svg.includes(`>${id}<`), id);
  assert.ok(svg.includes('Dense 512 · relu'));
  const both = runCli(['diagram']);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /exactly one of --config/);
  const unknown = runCli(['diagram', '--config', 'no-such-config']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /no config 'no-such-config'/);
});
