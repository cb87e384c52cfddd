import { launchChromium, skipWithoutChromium } from '../helpers/browser.js';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { evaluate } from '../../src/eval/metrics.js';
import { buildReportContext } from '../../src/report/context.js';
import { describeLayer } from '../../src/report/diagram-model.js';
import { REPORT_SECTIONS, renderReport } from '../../src/report/report.js';
import { gateData, posterShare } from '../../src/report/sections/gate.js';
import { escapeXml } from '../../src/report/text.js';
import { ROOT, runCli, tempDir } from '../helpers/shared.js';
import { addGate, makeReportFixture, type ReportFixture } from './runs.js';
import { assertWellFormedXml, inlineSvgs, networkReferences } from './svg-check.js';

let fx: ReportFixture;
let root: string;
before(async () => {
  root = tempDir('mmgenre-report-');
  fx = await makeReportFixture(root);
});

/** The HTML of one section (sections are not nested). */
function sectionHtml(html: string, id: string): string {
  const m = html.match(new RegExp(`<section id="${id}"[\\s\\S]*?</section>`));
  assert.ok(m, `section ${id} present`);
  return m[0];
}

function assertSelfContained(html: string): void {
  assert.deepEqual(networkReferences(html), [], 'no network references');
  assert.ok(!/<script\b/i.test(html), 'no scripts');
  assert.ok(!/<link\b[^>]*rel=["']?stylesheet/i.test(html), 'no external stylesheet');
  const svgs = inlineSvgs(html);
  svgs.forEach((svg, i) => assertWellFormedXml(svg, `inline SVG #${i}`));
  const ids = [...html.matchAll(/(?<![\w-])id="([^"]+)"/g)].map((m) => m[1]);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  assert.deepEqual(dup, [], 'element ids are unique across the page (charts do not share clip paths)');
}

test('the report of two trained runs has every section, self-contained, with the right numbers', async () => {
  const html = await renderReport([fx.gated, fx.plain], { data: fx.dataDir, bootstrap: 200 });
  writeFileSync(join(root, 'report.html'), html);
  assertSelfContained(html);
  for (const id of REPORT_SECTIONS) sectionHtml(html, id);

  const ctx = await buildReportContext([fx.gated, fx.plain], { data: fx.dataDir, bootstrap: 0 });
  const headline = sectionHtml(html, 'headline');
  // The macro-F1 at 0.5 shown is the one computed independently from the predictions and labels.
  const t = ctx.testSets[0]!;
  const macro = evaluate(t.yTrue, t.yProb, ctx.runs[0].labels, { threshold: 0.5 }).f1.macro;
  assert.ok(
    headline.includes(`>${macro.toFixed(3)}<span class="ci">[`),
    `macro ${macro.toFixed(3)} with its interval`,
  );
  assert.equal(t.ids.length, fx.dataset.splits.test.length);
  assert.match(headline, /tuned on dev/);
  assert.match(headline, /different test set/);
  assert.match(headline, /GMU/);
  assert.equal(headline.match(/class="ours"/g)?.length, 4, 'two runs × (0.5, tuned)');
  // The paper's GMU row beside ours; the other published rows folded into <details>.
  const [main, folded] = headline.split('<details class="published">');
  assert.equal(main.match(/data-published=/g)?.length, 1);
  assert.match(main, /data-published="arevalo2017\/mm-gmu"/);
  assert.ok((folded?.match(/data-published=/g)?.length ?? 0) > 10, 'the rest are one click away');

  for (const [id, chart] of [
    ['curves', 'curves'],
    ['per-genre', 'per-genre'],
    ['pr-curves', 'pr-curves'],
    ['cooccurrence', 'cooccurrence'],
    ['gate', 'gate'],
  ]) {
    const s = sectionHtml(html, id);
    assert.ok(s.includes(`data-chart="${chart}"`) && s.includes('<svg'), `${id} has its chart`);
  }
  // Curves: one point per epoch of both runs.
  const epochs = ctx.runs.reduce((a, r) => a + r.history.length, 0);
  assert.equal(epochs, 5 + 4);
  // Per-genre: the paper's Table 3 is not transcribed, and the section says so.
  assert.match(sectionHtml(html, 'per-genre'), /not transcribed/);
  // Gate: only the gated run; one z per (test movie, true genre).
  const gate = gateData(ctx);
  assert.deepEqual(gate.gatedRuns, ['tiny-mlp']);
  assert.equal(
    gate.points.length,
    t.records.reduce((a, r) => a + r.genres.length, 0),
  );
  assert.match(sectionHtml(html, 'gate'), /tiny-mlp: gate z per genre/);
  // Examples: posters inline as JPEG data URIs, both right and wrong lists, for both runs.
  const ex = sectionHtml(html, 'examples');
  assert.ok((ex.match(/src="data:image\/jpeg;base64,/g)?.length ?? 0) >= 6);
  assert.ok(ex.includes('class="example right"') && ex.includes('class="example wrong"'));
  // Diagram: every node of both specs, labelled with its op description.
  const diagram = sectionHtml(html, 'diagram');
  for (const run of ctx.runs) {
    for (const node of run.spec!.nodes) {
      assert.ok(diagram.includes(`>${escapeXml(node.id)}<`), `${run.name}: node ${node.id}`);
      assert.ok(diagram.includes(escapeXml(describeLayer(node))), `${run.name}: ${describeLayer(node)}`);
    }
  }
});

test('sections without their data say so instead of vanishing', async () => {
  // The logistic run's run.json names no dataset: no labels, so no curves that need them.
  const html = await renderReport([fx.plain], { bootstrap: 0 });
  assertSelfContained(html);
  for (const id of REPORT_SECTIONS) sectionHtml(html, id);
  assert.match(sectionHtml(html, 'pr-curves'), /data-missing="true"[^<]*No run has test predictions/);
  assert.match(sectionHtml(html, 'cooccurrence'), /data-missing="true"/);
  assert.match(sectionHtml(html, 'examples'), /data-missing="true"/);
  assert.match(sectionHtml(html, 'gate'), /data-missing="true"[^<]*None of these runs is a gated/);
  // The headline falls back to the trainer's eval.json (no intervals) and says so.
  const headline = sectionHtml(html, 'headline');
  assert.match(headline, /read from eval\.json/);
  assert.ok(!headline.includes('class="ci"'));
  const evalJson = JSON.parse(readFileSync(join(fx.plain, 'eval.json'), 'utf8')) as {
    test: { at05: { f1: { macro: number } } };
  };
  assert.ok(headline.includes(`>${evalJson.test.at05.f1.macro.toFixed(3)}<`));
  assert.match(sectionHtml(html, 'overview'), /pass --data DIR/);
});

test('a gate given per genre ({genre: share}) is charted per genre, and bad gate values are reported', async () => {
  const dir = join(root, 'runs', 'per-genre-gate');
  cpSync(fx.plain, dir, { recursive: true });
  addGate(dir, (id, i) =>
    i === 0 ? { Drama: 7 } : Object.fromEntries(fx.dataset.labels.map((g, j) => [g, ((i + j) % 10) / 10])),
  );
  const ctx = await buildReportContext([dir], { data: fx.dataDir, bootstrap: 0 });
  const gate = gateData(ctx);
  assert.ok(gate.points.length > 0);
  const byId = new Map(ctx.testSets[0]!.records.map((r, i) => [r.id, i]));
  for (const p of gate.points.slice(0, 20)) {
    const i = ctx.runs[0].testPredictions.findIndex((r) => r.id === p.id);
    assert.equal(p.z, ((i + fx.dataset.labels.indexOf(p.genre)) % 10) / 10, `z of ${p.id}/${p.genre}`);
    assert.ok(byId.has(p.id));
  }
  const firstId = ctx.runs[0].testPredictions[0].id;
  const firstHasDrama = ctx.testSets[0]!.records.find((r) => r.id === firstId)?.genres.includes('Drama');
  if (firstHasDrama) assert.match(gate.problems.join('\n'), /gate 7 is not a number in \[0, 1\]/);
  const html = await renderReport([dir], { data: fx.dataDir, bootstrap: 0 });
  assert.ok(sectionHtml(html, 'gate').includes('data-chart="gate"'));
});

test('the gate is read in each shape a prediction row may carry it', () => {
  const row = (gate: unknown): { id: string; scores: Record<string, number>; gate: unknown } => ({
    id: 'm',
    scores: {},
    gate,
  });
  assert.equal(posterShare(row(0.25), 'Drama'), 0.25);
  assert.equal(posterShare(row({ Drama: 0.7, Comedy: 0.1 }), 'Drama'), 0.7);
  assert.equal(posterShare(row({ poster: 0.6, plot: 0.3, title: 0.1 }), 'Comedy'), 0.6);
  assert.equal(posterShare(row({ plot: 1 }), 'Comedy'), undefined);
  assert.equal(posterShare({ id: 'm', scores: {} }, 'Drama'), undefined);
  assert.deepEqual(posterShare(row(1.5), 'Drama'), { error: 'gate 1.5 is not a number in [0, 1]' });
  // float32 rounding just outside [0, 1] is clamped, not dropped.
  assert.equal(posterShare(row(1.0000000055933924), 'Drama'), 1);
  assert.equal(posterShare(row(-3e-9), 'Drama'), 0);
  assert.match((posterShare(row([0.2]), 'Drama') as { error: string }).error, /number or an object/);
});

test('mmgenre report writes the HTML file and refuses what is not a run', () => {
  const out = join(root, 'cli-report.html');
  const r = runCli([
    'report',
    fx.gated,
    fx.plain,
    '--data',
    fx.dataDir,
    '--out',
    out,
    '--bootstrap',
    '50',
    '--examples',
    '2',
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*cli-report\.html/);
  const html = readFileSync(out, 'utf8');
  assertSelfContained(html);
  assert.equal(sectionHtml(html, 'examples').match(/class="example /g)?.length, 2 * 2 * 2);
  const bad = runCli(['report', fx.dataDir, '--out', join(root, 'x.html')]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /is not an mmgenre run/);
  assert.ok(!existsSync(join(root, 'x.html')));
});

test(
  'the report renders in a real browser: every chart has a size, nothing is fetched',
  { skip: skipWithoutChromium() },
  async () => {
    const file = join(root, 'report.html');
    if (!existsSync(file))
      writeFileSync(file, await renderReport([fx.gated, fx.plain], { data: fx.dataDir, bootstrap: 100 }));
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const fetched: string[] = [];
      page.on('request', (req) => {
        if (!req.url().startsWith('file:') && !req.url().startsWith('data:')) fetched.push(req.url());
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const charts = await page.$$eval('figure.chart', (figs) =>
        figs.map((f) => {
          const svg = f.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          const parsed = svg ? new DOMParser().parseFromString(svg.outerHTML, 'image/svg+xml') : null;
          return {
            kind: f.getAttribute('data-chart'),
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            marks: svg?.querySelectorAll('path, rect, line, text').length ?? 0,
            parseError: parsed ? parsed.getElementsByTagName('parsererror').length > 0 : true,
          };
        }),
      );
      const kinds = new Set(charts.map((c) => c.kind));
      for (const k of ['curves', 'per-genre', 'pr-curves', 'cooccurrence', 'gate', 'diagram'])
        assert.ok(kinds.has(k), `${k} chart on the page`);
      const content = await page.$eval('main .report-section', (sct) => sct.clientWidth);
      for (const c of charts) {
        assert.ok(c.width > 100 && c.height > 50, `${c.kind} chart has a size (${c.width}×${c.height})`);
        assert.ok(c.width <= content, `${c.kind} chart fits the content width (${c.width} ≤ ${content})`);
        assert.ok(c.marks > 10, `${c.kind} chart draws marks`);
        assert.equal(c.parseError, false, `${c.kind} SVG parses in the browser`);
      }
      const images = await page.$$eval('img.poster', (imgs) =>
        imgs.map((i) => (i as HTMLImageElement).naturalWidth),
      );
      assert.ok(images.length > 0 && images.every((w) => w > 0), 'poster thumbnails decode');
      assert.deepEqual(fetched, []);
      assert.deepEqual(errors, []);
      const artifacts = join(ROOT, 'test-artifacts');
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
      // Printed on A4, nothing is cut at the right edge either.
      await page.emulateMedia({ media: 'print' });
      await page.setViewportSize({ width: 794, height: 1123 });
      const printed = await page.$$eval('figure.chart svg', (svgs) =>
        svgs.map((s) => s.getBoundingClientRect().right),
      );
      assert.ok(
        printed.every((right) => right <= 794),
        `charts within an A4 page: ${printed.join(', ')}`,
      );
    } finally {
      await browser.close();
    }
  },
);
