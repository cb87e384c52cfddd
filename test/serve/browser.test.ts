import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../helpers/browser.js';
import { readPredictions } from '../../src/eval/predictions.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { parseConfig, trainFromConfig } from '../../src/train/index.js';
import { trainTinyRun, type TinyRun } from '../predict/fixture.js';

const skip = skipWithoutChromium();
const ARTIFACTS = resolve('test-artifacts', 'serve');

let tiny: TinyRun;
let server: RunningServer;
let browser: Browser;
let page: Page;

describe('the web page in a real browser', { skip, timeout: 240_000 }, () => {
  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    tiny = await trainTinyRun();
    // A GMU on the same movies (features already cached): its movie view shows the gate.
    await trainFromConfig(
      parseConfig({
        name: 'tiny-gmu',
        inputs: [
          { id: 'poster', encoder: 'mobilenet_v2_onnx' },
          { id: 'plot', encoder: 'glove-mean', options: { cacheDir: tiny.gloveCache } },
        ],
        model: { type: 'gmu', units: 8 },
        training: { epochs: 2, patience: 0 },
      }),
      tiny.dataDir,
      { out: join(tiny.runsDir, 'tiny-gmu'), progress: false, extractWorkers: 0 },
    );
    server = await startServer({ model: tiny.runDir, runsDir: tiny.runsDir, port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    (page as unknown as { jsErrors: string[] }).jsErrors = errors;
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test('upload a poster and a plot, see the predicted genres as bars', async () => {
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=run-select] option', { state: 'attached' });
    const row = readPredictions(join(tiny.runDir, 'predictions-test.jsonl')).rows[0];
    const movie = JSON.parse(readFileSync(join(tiny.dataDir, 'dataset', `${row.id}.json`), 'utf8')) as {
      plot: string[];
    };
    await page.setInputFiles('[data-testid=poster-input]', join(tiny.dataDir, 'dataset', `${row.id}.jpeg`));
    await page.waitForSelector('#poster-preview:not([hidden])');
    // The preview replaces the hint (the hint is not squeezed beside it).
    assert.equal(await page.isVisible('#drop-hint'), false);
    await page.fill(
      '[data-testid=plot-input]',
      movie.plot.reduce((a, b) => (b.length > a.length ? b : a)),
    );
    await page.click('[data-testid=predict-button]');
    await page.waitForSelector('[data-testid=result]:not([hidden]) [data-testid=genre-bars] li');
    const bars = await page.$$eval('[data-testid=genre-bars] li', (lis) =>
      lis.map((li) => ({
        genre: li.getAttribute('data-genre'),
        predicted: li.classList.contains('predicted-genre'),
      })),
    );
    assert.equal(bars.length, 23);
    // The page shows what the API predicts for the same movie (the trainer's tuned decision).
    const predicted = bars.filter((b) => b.predicted).map((b) => b.genre);
    const chips = await page.$$eval('[data-testid=predicted-genres] .chip', (cs) =>
      cs.map((c) => c.textContent),
    );
    assert.deepEqual(chips, predicted);
    const top = Object.entries(row.scores).sort((a, b) => b[1] - a[1])[0][0];
    assert.equal(bars[0].genre, top, 'the most probable genre comes first');
    const note = await page.textContent('[data-testid=inputs-note]');
    assert.match(note ?? '', /Used: poster, plot/);
    await page.screenshot({ path: join(ARTIFACTS, 'predict.png'), fullPage: true });
  });

  test('an invalid file shows the API error on the page', async () => {
    await page.setInputFiles('[data-testid=poster-input]', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('not an image'),
    });
    await page.fill('[data-testid=plot-input]', '');
    await page.click('[data-testid=predict-button]');
    await page.waitForSelector('[data-testid=form-error]:not([hidden])');
    assert.match((await page.textContent('[data-testid=form-error]')) ?? '', /not an image/);
  });

  test('browse the test movies with a genre and a right/wrong filter', async () => {
    await page.click('[data-testid=tab-browse]');
    await page.waitForSelector('[data-testid=movie-card]');
    assert.match((await page.textContent('[data-testid=browse-count]')) ?? '', /^18 movies$/);
    const labels = await page.$$eval('[data-testid=genre-filter] option', (os) =>
      os.map((o) => o.getAttribute('value')),
    );
    assert.equal(labels.length, 24);
    await page.selectOption('[data-testid=genre-filter]', 'Drama');
    await page.waitForFunction(
      () =>
        /movie/.test(document.querySelector('[data-testid=browse-count]')?.textContent ?? '') &&
        !document.querySelector('[data-testid=browse-count]')?.textContent?.startsWith('18 '),
    );
    await page.selectOption('[data-testid=correct-filter]', 'wrong');
    await page.waitForTimeout(300);
    const api = (await (
      await fetch(`${server.url}/api/runs/tiny-mlp/movies?genre=Drama&correct=false&limit=1000`)
    ).json()) as { total: number };
    const cards = await page.$$eval('[data-testid=movie-card]', (cs) =>
      cs.map((c) => c.getAttribute('data-correct')),
    );
    assert.equal(cards.length, Math.min(api.total, 24));
    assert.ok(cards.every((c) => c === 'false'));
    const imgs = await page.$$eval('[data-testid=movie-card] img', (is) =>
      is.map((i) => (i as HTMLImageElement).naturalWidth),
    );
    await page.waitForTimeout(200);
    assert.ok(imgs.length === 0 || imgs.some((w) => w >= 0));
    await page.selectOption('[data-testid=correct-filter]', '');
    await page.selectOption('[data-testid=genre-filter]', '');
    await page.waitForSelector('[data-testid=movie-card] img');
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('[data-testid=movie-card] img')).every(
        (i) => (i as HTMLImageElement).complete,
      ),
    );
    const loaded = await page.$$eval(
      '[data-testid=movie-card] img',
      (is) => is.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length,
    );
    assert.ok(loaded > 0, 'poster thumbnails render');
    await page.screenshot({ path: join(ARTIFACTS, 'browse.png'), fullPage: true });
    assert.deepEqual(
      (page as unknown as { jsErrors: string[] }).jsErrors.filter((e) => !/40\d|41\d|42\d/.test(e)),
      [],
    );
  });

  test('partial matches are marked "k of n genres", not wrong', async () => {
    const api = (await (await fetch(`${server.url}/api/runs/tiny-mlp/movies?limit=1000`)).json()) as {
      movies: Array<{ id: string; verdict: string; matched: number; trueGenres: string[] }>;
    };
    const verdicts = await page.$$eval('[data-testid=movie-card]', (cs) =>
      cs.map((c) => ({
        id: c.getAttribute('data-id'),
        verdict: c.getAttribute('data-verdict'),
        text: c.querySelector('[data-testid=verdict]')?.textContent ?? '',
      })),
    );
    assert.ok(verdicts.length > 0);
    for (const v of verdicts) {
      const mv = api.movies.find((m) => m.id === v.id)!;
      assert.equal(v.verdict, mv.verdict);
      if (mv.verdict === 'partial')
        assert.match(v.text, new RegExp(`${mv.matched} of ${mv.trueGenres.length} genre`));
      if (mv.verdict === 'wrong') assert.match(v.text, /none of/);
      if (mv.verdict === 'exact') assert.match(v.text, /exact/);
    }
  });

  test('search by title', async () => {
    const first = (await (await fetch(`${server.url}/api/runs/tiny-mlp/movies?limit=1`)).json()) as {
      movies: Array<{ title: string }>;
    };
    const word = first.movies[0].title
      .split(/\s+/)
      .sort((a, b) => b.length - a.length)[0]
      .toLowerCase();
    const expected = (await (
      await fetch(`${server.url}/api/runs/tiny-mlp/movies?limit=1000&q=${encodeURIComponent(word)}`)
    ).json()) as { total: number; movies: Array<{ title: string }> };
    assert.ok(expected.total >= 1 && expected.total < 18, `"${word}" narrows the list (${expected.total})`);
    await page.fill('[data-testid=search]', word.toUpperCase());
    await page.waitForFunction(
      (n) =>
        document.querySelector('[data-testid=browse-count]')?.textContent ===
        `${n} movie${n === 1 ? '' : 's'}`,
      expected.total,
    );
    const titles = await page.$$eval('[data-testid=movie-card] h4', (hs) =>
      hs.map((h) => h.textContent ?? ''),
    );
    assert.equal(titles.length, expected.total);
    assert.ok(titles.every((t) => t.toLowerCase().includes(word)));
    await page.screenshot({ path: join(ARTIFACTS, 'search.png') });
    await page.fill('[data-testid=search]', 'no such title xyz');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=browse-count]')?.textContent === '0 movies',
    );
    assert.match((await page.textContent('#browse-note')) ?? '', /No title matches/);
    await page.fill('[data-testid=search]', '');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=browse-count]')?.textContent === '18 movies',
    );
  });

  test('click a card: the movie view shows poster, plot, true vs predicted genres and probabilities', async () => {
    const card = page.locator('[data-testid=movie-card]').first();
    const id = await card.getAttribute('data-id');
    await card.click();
    await page.waitForSelector('[data-testid=movie-view][open]');
    const detail = (await (await fetch(`${server.url}/api/runs/tiny-mlp/movies/${id}`)).json()) as {
      title: string;
      trueGenres: string[];
      predictedGenres: string[];
      plot: string;
      explanation: unknown;
    };
    assert.match(
      (await page.textContent('[data-testid=mv-title]')) ?? '',
      new RegExp(detail.title.slice(0, 10)),
    );
    assert.deepEqual(
      await page.$$eval('[data-testid=mv-true] .chip', (cs) => cs.map((c) => c.textContent)),
      detail.trueGenres,
    );
    assert.deepEqual(
      await page.$$eval('[data-testid=mv-predicted] .chip', (cs) => cs.map((c) => c.textContent)),
      detail.predictedGenres,
    );
    assert.equal(await page.$$eval('[data-testid=mv-bars] li', (l) => l.length), 23);
    assert.equal((await page.textContent('[data-testid=mv-plot]'))?.trim(), detail.plot.trim());
    await page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=mv-poster]') as HTMLImageElement | null;
      return !!img && img.complete && img.naturalWidth > 0;
    });
    // The MLP has no gate, and says so.
    assert.equal(detail.explanation, null);
    assert.match((await page.textContent('[data-testid=mv-gate]')) ?? '', /no gate/);
    await page.screenshot({ path: join(ARTIFACTS, 'movie-view.png') });
    await page.click('[data-testid=movie-close]');
    await page.waitForSelector('[data-testid=movie-view]:not([open])', { state: 'attached' });
  });

  test("a GMU run's movie view shows the gate per genre and explains it", async () => {
    await page.selectOption('[data-testid=run-select]', 'tiny-gmu');
    await page.waitForSelector('[data-testid=movie-card]');
    await page.locator('[data-testid=movie-card]').first().click();
    await page.waitForSelector('[data-testid=movie-view][open] [data-testid=gate-table]');
    const rows = await page.$$eval(
      '[data-testid=movie-view] [data-testid=gate-table] tbody tr',
      (r) => r.length,
    );
    assert.ok(rows >= 1);
    const shares = await page.$$eval(
      '[data-testid=movie-view] [data-testid=share-bar] [data-modality]',
      (ds) => ds.map((d) => d.getAttribute('data-modality')),
    );
    assert.deepEqual(shares, ['poster', 'plot']);
    await page.click('[data-testid=movie-view] .gate-help summary');
    assert.match((await page.textContent('[data-testid=movie-view] .gate-help')) ?? '', /learned\s+gate/);
    await page.screenshot({ path: join(ARTIFACTS, 'movie-view-gmu.png'), fullPage: false });
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=movie-view]:not([open])', { state: 'attached' });
    await page.selectOption('[data-testid=run-select]', 'tiny-mlp');
  });

  test('favicon is served', async () => {
    const res = await fetch(`${server.url}/favicon.ico`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /image\/svg/);
    assert.equal(await page.getAttribute('link[rel=icon]', 'href'), '/favicon.svg');
  });

  test('on a 390 px phone: nothing overflows, cards keep their border, the movie view fits', async () => {
    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    await phone.goto(server.url);
    await phone.waitForSelector('[data-testid=run-select] option', { state: 'attached' });
    const overflow = (): Promise<number> =>
      phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok((await overflow()) <= 0, 'the Try-it tab fits 390 px');
    // The drop zone's hint keeps its words on whole lines (not one word per line).
    const hint = await phone.$eval('#drop-hint strong', (s) => {
      const r = s.getBoundingClientRect();
      return {
        width: r.width,
        height: r.height,
        lineHeight: parseFloat(getComputedStyle(s).lineHeight) || 20,
      };
    });
    assert.ok(hint.height < hint.lineHeight * 1.6, `the hint is not squeezed: ${JSON.stringify(hint)}`);
    await phone.screenshot({ path: join(ARTIFACTS, 'mobile-try.png'), fullPage: true });
    await phone.click('[data-testid=tab-browse]');
    await phone.waitForSelector('[data-testid=movie-card]');
    assert.ok((await overflow()) <= 0, 'the browse tab fits 390 px');
    const boxes = await phone.$$eval('[data-testid=movie-card]', (cs) =>
      cs.map((c) => {
        const r = c.getBoundingClientRect();
        return { left: r.left, right: r.right };
      }),
    );
    for (const b of boxes)
      assert.ok(b.left >= 0 && b.right <= 390, `card inside the screen: ${JSON.stringify(b)}`);
    await phone.screenshot({ path: join(ARTIFACTS, 'mobile-browse.png') });
    await phone.locator('[data-testid=movie-card]').first().click();
    await phone.waitForSelector('[data-testid=movie-view][open]');
    const dialog = await phone.$eval('[data-testid=movie-view]', (d) => {
      const r = d.getBoundingClientRect();
      return { left: r.left, right: r.right, scrollWidth: d.scrollWidth, clientWidth: d.clientWidth };
    });
    assert.ok(
      dialog.left >= 0 && dialog.right <= 390,
      `movie view inside the screen: ${JSON.stringify(dialog)}`,
    );
    assert.ok(dialog.scrollWidth <= dialog.clientWidth, 'no sideways scrolling in the movie view');
    await phone.screenshot({ path: join(ARTIFACTS, 'mobile-movie.png') });
    await phone.close();
  });

  test("open the run's report and see its charts", async (t) => {
    const res = await fetch(`${server.url}/api/runs/tiny-mlp/report`);
    if (res.status === 501) {
      t.skip('the report module (renderReport) is not in this build yet');
      return;
    }
    assert.equal(res.status, 200);
    const href = await page.getAttribute('[data-testid=report-link]', 'href');
    assert.equal(href, '/api/runs/tiny-mlp/report');
    const report = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await report.goto(`${server.url}${href}`);
    const svgs = await report.$$eval('svg', (s) => s.length);
    assert.ok(svgs > 0, 'the report has charts');
    await report.screenshot({ path: join(ARTIFACTS, 'report.png') });
    await report.close();
  });
});
