import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { synthesizeDataset, type SynthResult } from '../../src/data/synth.js';
import { loadDataset } from '../../src/data/load.js';
import { MMIMDB_GENRES } from '../../src/data/genres.js';
import { genreStyle } from '../../src/data/synth-genres.js';
import type { Dataset } from '../../src/data/types.js';
import { runCli, tempDir } from '../helpers/shared.js';

process.env.MMGENRE_QUIET = '1';

function digestTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else
        out.set(
          `${rel}${e.name}`,
          createHash('sha256')
            .update(readFileSync(join(d, e.name)))
            .digest('hex'),
        );
    }
  };
  walk(dir, '');
  return out;
}

let big: SynthResult;
let bigDs: Dataset;

before(async () => {
  big = await synthesizeDataset({ out: join(tempDir(), 'synth'), n: 240, seed: 11 });
  bigDs = await loadDataset(big.out);
});

test('same seed gives byte-identical files; another seed does not', async () => {
  const a = await synthesizeDataset({ out: join(tempDir(), 'a'), n: 16, seed: 5 });
  const b = await synthesizeDataset({ out: join(tempDir(), 'b'), n: 16, seed: 5 });
  const c = await synthesizeDataset({ out: join(tempDir(), 'c'), n: 16, seed: 6 });
  const da = digestTree(a.out);
  const db = digestTree(b.out);
  assert.equal(da.size, 16 * 2 + 2); // json + jpeg per movie, split.json, synth.json
  assert.deepEqual([...da.entries()].sort(), [...db.entries()].sort());
  const dc = digestTree(c.out);
  const differing = [...da.keys()].filter((k) => k.endsWith('.jpeg') && dc.get(k) !== da.get(k));
  assert.equal(differing.length, 16, 'every poster changes with the seed');
});

test('the dataset loads with the MM-IMDB directory loader, without errors', () => {
  assert.equal(bigDs.records.length, 240);
  const errors = bigDs.issues.filter((i) => i.severity === 'error');
  assert.deepEqual(errors, []);
  const { train, dev, test: testIds } = bigDs.splits;
  assert.equal(train.length + dev.length + testIds.length, 240);
  assert.equal(new Set([...train, ...dev, ...testIds]).size, 240);
  // The paper's ratios: 15,552 / 2,608 / 7,799 of 25,959.
  assert.ok(Math.abs(train.length / 240 - 0.599) < 0.02, `train ${train.length}`);
  assert.ok(Math.abs(dev.length / 240 - 0.1) < 0.02, `dev ${dev.length}`);
  assert.deepEqual(bigDs.labels, [...MMIMDB_GENRES]);
  for (const r of bigDs.records) {
    assert.ok(r.plot && r.plot.length > 80, `plot of ${r.id}`);
    assert.ok(r.posterPath && existsSync(r.posterPath), `poster of ${r.id}`);
    assert.ok(r.genres.length >= 1 && r.genres.length <= 3, `genres of ${r.id}`);
  }
  assert.equal(big.counts.train, train.length);
});

test('posters are real JPEGs of poster size', async () => {
  for (const r of bigDs.records.slice(0, 5)) {
    const meta = await sharp(r.posterPath!).metadata();
    assert.equal(meta.format, 'jpeg');
    assert.equal(meta.width, 320);
    assert.ok(meta.height! >= 440 && meta.height! <= 495, `height ${meta.height}`);
  }
});

test('genre counts are skewed like MM-IMDB and every genre is present', () => {
  const counts = big.counts.perGenre;
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  assert.equal(sorted[0][0], 'Drama');
  assert.ok(counts.Drama > 3 * counts['Film-Noir'], JSON.stringify(counts));
  for (const g of MMIMDB_GENRES) assert.ok(counts[g] >= 3, `${g}: ${counts[g]}`);
  // Counts in the result match the files.
  const fromFiles: Record<string, number> = {};
  for (const r of bigDs.records) for (const g of r.genres) fromFiles[g] = (fromFiles[g] ?? 0) + 1;
  for (const g of MMIMDB_GENRES) assert.equal(fromFiles[g] ?? 0, counts[g], g);
});

test("plots carry genre signal: a genre's words are far more frequent in its movies", () => {
  let checked = 0;
  MMIMDB_GENRES.forEach((g, i) => {
    const vocab = new Set(genreStyle(g, i).words);
    const rate = (withGenre: boolean): number => {
      let hits = 0;
      let total = 0;
      for (const r of bigDs.records) {
        if (r.genres.includes(g) !== withGenre) continue;
        const words = r.plot!.toLowerCase().match(/[a-z]+/g) ?? [];
        total += words.length;
        for (const w of words) if (vocab.has(w)) hits++;
      }
      return hits / Math.max(1, total);
    };
    const inside = rate(true);
    const outside = rate(false);
    assert.ok(inside > 4 * outside, `${g}: ${inside.toFixed(4)} vs ${outside.toFixed(4)}`);
    checked++;
  });
  assert.equal(checked, 23);
});

test('posters carry genre signal: Comedy posters are brighter than Horror posters beyond noise', async () => {
  const luminance = async (path: string): Promise<number> => {
    const { channels } = await sharp(path).stats();
    return 0.299 * channels[0].mean + 0.587 * channels[1].mean + 0.114 * channels[2].mean;
  };
  const group = async (has: string, not: string): Promise<number[]> =>
    Promise.all(
      bigDs.records
        .filter((r) => r.genres.includes(has) && !r.genres.includes(not))
        .map((r) => luminance(r.posterPath!)),
    );
  const comedy = await group('Comedy', 'Horror');
  const horror = await group('Horror', 'Comedy');
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  const variance = (v: number[]): number => v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1);
  const se = Math.sqrt(variance(comedy) / comedy.length + variance(horror) / horror.length);
  const diff = mean(comedy) - mean(horror);
  assert.ok(comedy.length >= 5 && horror.length >= 5);
  assert.ok(diff > 4 * se, `difference ${diff.toFixed(1)} vs standard error ${se.toFixed(1)}`);
});

test('an interrupted run resumes and ends with the same bytes as an uninterrupted one', async () => {
  const out = join(tempDir(), 'resume');
  const first = await synthesizeDataset({ out, n: 12, seed: 9 });
  const reference = digestTree(out);
  // Simulate a run killed mid-way: split.json not yet written, some movies missing.
  rmSync(join(out, 'split.json'));
  const ids = readdirSync(join(out, 'dataset'))
    .filter((f) => f.endsWith('.json'))
    .slice(0, 4);
  for (const f of ids) rmSync(join(out, 'dataset', f));
  rmSync(join(out, 'dataset', ids[0].replace('.json', '.jpeg')));
  const again = await synthesizeDataset({ out, n: 12, seed: 9 });
  assert.equal(again.reused, 8);
  assert.deepEqual(again.counts, first.counts);
  assert.deepEqual([...digestTree(out).entries()].sort(), [...reference.entries()].sort());
});

test('refuses to write into a folder holding other data or another synth run', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  await assert.rejects(synthesizeDataset({ out: dir, n: 3, seed: 1 }), /not empty/);
  assert.equal(readFileSync(join(dir, 'notes.txt'), 'utf8'), 'mine');
  const out = join(tempDir(), 's');
  await synthesizeDataset({ out, n: 3, seed: 1 });
  await assert.rejects(synthesizeDataset({ out, n: 4, seed: 1 }), /other options/);
  await assert.rejects(synthesizeDataset({ out: join(tempDir(), 'x'), n: 0, seed: 1 }), /positive integer/);
});

test('a custom label set is used as given', async () => {
  const labels = ['Science Fiction', 'TV Movie', 'Zombie Opera'];
  const r = await synthesizeDataset({ out: join(tempDir(), 'l'), n: 20, seed: 2, labels });
  for (const f of readdirSync(join(r.out, 'dataset')).filter((f) => f.endsWith('.json'))) {
    const json = JSON.parse(readFileSync(join(r.out, 'dataset', f), 'utf8')) as { genres: string[] };
    assert.ok(json.genres.length >= 1);
    for (const g of json.genres) assert.ok(labels.includes(g), g);
  }
  assert.deepEqual(Object.keys(r.counts.perGenre), labels);
});

test('mmgenre data synth writes a dataset and rejects a bad --n', () => {
  const out = join(tempDir(), 'cli');
  const ok = runCli(['data', 'synth', '--out', out, '--n', '10', '--seed', '4']);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /wrote 10 movies/);
  assert.match(ok.stdout, /Drama/);
  assert.ok(existsSync(join(out, 'split.json')));
  const bad = runCli(['data', 'synth', '--out', join(tempDir(), 'bad'), '--n', 'ten']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--n must be/);
});
