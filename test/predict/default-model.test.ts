import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import {
  defaultModelDir,
  loadPredictor,
  parseMoviesCsv,
  readUnlabeledMovies,
  type Predictor,
} from '../../src/predict/index.js';
import { ROOT, runCli, tempDir } from '../helpers/shared.js';

const PLOT =
  'A family of toys comes to life whenever the children leave the room, and a cowboy doll fights to stay the favourite.';

let dir: string;
let poster: string;

before(async () => {
  dir = tempDir();
  poster = join(dir, 'poster.png');
  // A real image file: bright, saturated blocks.
  await sharp({ create: { width: 180, height: 270, channels: 3, background: { r: 240, g: 180, b: 20 } } })
    .composite([
      {
        input: await sharp({
          create: { width: 90, height: 90, channels: 3, background: { r: 30, g: 90, b: 220 } },
        })
          .png()
          .toBuffer(),
        top: 60,
        left: 45,
      },
    ])
    .png()
    .toFile(poster);
});

describe('the shipped default model', { timeout: 300_000 }, () => {
  let clf: Predictor;
  before(async () => {
    clf = await loadPredictor();
  });
  after(() => clf?.dispose());

  test('loadPredictor() with no run gives the shipped GMU: genres, probabilities, the gate, 0.5 thresholds', async () => {
    assert.equal(clf.dir, defaultModelDir());
    const [p] = await clf.predict([{ poster, plot: PLOT }]);
    assert.equal(Object.keys(p.scores).length, 23);
    assert.equal(p.thresholds.kind, '0.5');
    assert.ok(p.genres.every((g) => p.scores[g] >= 0.5));
    assert.ok(p.contributions && Math.abs(p.contributions.poster + p.contributions.plot - 1) < 1e-5);
    assert.deepEqual(p.inputsUsed.sort(), ['plot', 'poster', 'poster_mid']);
  });

  test('its card and build record pass the 3x rule: no genre predicted for more than 3x its true test count', () => {
    const scores = JSON.parse(readFileSync(join(defaultModelDir(), 'scores.json'), 'utf8')) as {
      counts: Array<{ genre: string; truth: number; predicted: number }>;
    };
    assert.equal(scores.counts.length, 23);
    for (const c of scores.counts)
      assert.ok(c.predicted <= 3 * Math.max(1, c.truth), `${c.genre}: ${c.predicted} vs ${c.truth}`);
    const card = readFileSync(join(defaultModelDir(), 'MODEL_CARD.md'), 'utf8');
    for (const heading of ['How it was chosen', 'Scores on the sample', 'Known weaknesses', 'Licences'])
      assert.ok(card.includes(heading), heading);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('models/default'), 'the model ships in the package');
  });
});

test('unlabeled movies are read from JSON Lines, CSV and a folder; bad ones come back with a reason', () => {
  const base = tempDir();
  writeFileSync(join(base, 'p.png'), readFileSync(poster));
  const csv = parseMoviesCsv(
    'id,title,plot,poster\nm1,One,"A plot, with a comma",p.png\nm2,Two,,\nm3,Three,,http://x/y.jpg\n',
    base,
  );
  assert.deepEqual(
    csv.movies.map((m) => [m.id, m.input.poster]),
    [['m1', join(base, 'p.png')]],
  );
  assert.deepEqual(
    csv.unreadable.map((u) => u.id),
    ['m2', 'm3'],
  );
  assert.match(csv.unreadable[1].error, /URL/);
  const folder = join(base, 'movies');
  mkdirSync(folder);
  writeFileSync(join(folder, 'a.json'), JSON.stringify({ title: 'A', plot: ['first', 'second plot'] }));
  writeFileSync(join(folder, 'a.jpeg'), readFileSync(poster));
  writeFileSync(join(folder, 'b.png'), readFileSync(poster));
  writeFileSync(join(folder, 'c.json'), '{ broken');
  const fromDir = readUnlabeledMovies(folder);
  assert.deepEqual(
    fromDir.movies.map((m) => m.id),
    ['a', 'b'],
  );
  assert.equal(fromDir.movies[0].input.plot, 'first\nsecond plot');
  assert.match(fromDir.unreadable[0].error, /c\.json: invalid JSON/);
});

test(
  'CLI: predict with no --model uses the shipped model; --input FILE and --input - (stdin) predict unlabeled movies',
  { timeout: 300_000 },
  () => {
    const one = runCli(['predict', '--poster', poster, '--plot', PLOT, '--top', '5']);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /the model shipped with mmgenre/);
    assert.match(one.stdout, /predicted: .*\[thresholds: 0\.5\]/);

    const input = join(dir, 'movies.jsonl');
    writeFileSync(
      input,
      [
        JSON.stringify({ id: 'toy', title: 'Toys', plot: PLOT, poster: 'poster.png' }),
        JSON.stringify({
          id: 'gone',
          plot: 'A detective hunts a killer through a rainy city.',
          poster: 'missing.jpg',
        }),
        JSON.stringify({ id: 'empty', title: 'Nothing' }),
        '{ not json',
      ].join('\n') + '\n',
    );
    const out = join(dir, 'out.jsonl');
    const r = runCli(['predict', '--input', input, '--out', out]);
    assert.equal(r.status, 1, 'some movies could not be predicted: exit 1\n' + r.stderr);
    assert.match(r.stderr, /empty: no plot and no poster/);
    assert.match(r.stderr, /line-4: line 4: invalid JSON/);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const byId = new Map(lines.map((l) => [l.id, l]));
    const toy = byId.get('toy');
    assert.ok(Array.isArray(toy.genres) && toy.threshold === '0.5');
    assert.deepEqual(Object.keys(toy.probabilities), toy.genres);
    assert.ok(toy.gate && typeof toy.gate.poster === 'number', 'a GMU gives the gate');
    const gone = byId.get('gone');
    assert.ok(
      gone.genres.length >= 0 && gone.inputsMissing.some((m: { input: string }) => m.input === 'poster'),
    );
    assert.ok(byId.get('empty').error);

    const piped = spawnSync(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), 'predict', '--input', '-'], {
      cwd: dir,
      input: JSON.stringify({ id: 's1', plot: PLOT, poster: 'poster.png' }) + '\n',
      env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(piped.status, 0, piped.stderr);
    const s1 = JSON.parse(piped.stdout.trim());
    assert.equal(s1.id, 's1');
    assert.deepEqual(s1.inputsUsed.sort(), ['plot', 'poster', 'poster_mid']);
  },
);

test('CLI: serve with no --model serves the shipped model', { timeout: 180_000 }, async () => {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'mmgenre.js'), 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, MMGENRE_FROM_SOURCE: '1', MMGENRE_QUIET: '1' },
  });
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let text = '';
      child.stdout.on('data', (c: Buffer) => {
        text += c.toString();
        const m = /listening on (\S+)/.exec(text);
        if (m) resolveUrl(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    const res = await fetch(`${url}/api/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ plot: PLOT, poster: readFileSync(poster).toString('base64') }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { run: string; genres: string[]; thresholds: { kind: string } };
    assert.equal(body.run, 'default');
    assert.equal(body.thresholds.kind, '0.5');
    assert.ok(Array.isArray(body.genres));
  } finally {
    child.kill('SIGTERM');
  }
});
