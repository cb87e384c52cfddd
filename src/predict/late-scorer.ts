/**
 * Late-fusion runs as predictors: each expert run predicts from its own input with its own
 * predictor (so an expert keeps its encoder, fitted options and normalisation), and the experts'
 * probabilities are combined with the run's weights exactly as at training (combineLate: absent
 * modalities drop out of the average).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readThresholds } from '../eval/thresholds.js';
import { combineLate, expertMissing } from '../models/fusion/late.js';
import { LATE_FILE, type LateFile } from '../runs/late-run.js';
import type { ModelSpec } from '../models/spec.js';
import { readRunInfo, RUN_FILES } from '../runs/run.js';
import type { ExpertPredictor, Scorer } from './scorer.js';
import { PredictorError } from './types.js';

/** The expert's directory: as recorded, or beside the late run when the runs folder has moved. */
function expertDir(lateDir: string, recorded: string): string {
  const dir = resolve(lateDir, recorded);
  if (existsSync(dir)) return dir;
  const beside = join(dirname(lateDir), basename(recorded));
  if (existsSync(beside)) return beside;
  throw new PredictorError(`late-fusion run ${lateDir}: its expert run ${dir} is not there`);
}

export async function loadLateScorer(
  dir: string,
  loadExpert: (dir: string) => Promise<ExpertPredictor>,
): Promise<Scorer> {
  const late = JSON.parse(readFileSync(join(dir, LATE_FILE), 'utf8')) as LateFile;
  const spec = JSON.parse(readFileSync(join(dir, RUN_FILES.spec), 'utf8')) as ModelSpec;
  const labels = late.labels;
  // The weights are in the order of late.json's experts (as combineLate was called at training).
  const ids = Object.keys(late.experts);
  const experts: ExpertPredictor[] = [];
  try {
    for (const id of ids) {
      const expert = await loadExpert(expertDir(dir, late.experts[id]));
      experts.push(expert);
      if (expert.labels.join() !== labels.join()) {
        throw new PredictorError(`late-fusion expert ${expert.dir} predicts other genres than ${dir}`);
      }
    }
  } catch (err) {
    experts.forEach((e) => e.dispose());
    throw err;
  }
  const thresholdsPath = join(dir, RUN_FILES.thresholds);
  return {
    dir,
    name: readRunInfo(dir).name,
    labels,
    spec,
    run: null,
    tuned: existsSync(thresholdsPath) ? readThresholds(thresholdsPath, labels).thresholds : null,
    // The experts' inputs side by side; an expert with one input answers to the late run's id for it.
    inputs: experts.flatMap((e, k) =>
      e.inputs.map((input) => ({ ...input, id: e.inputs.length === 1 ? ids[k] : `${ids[k]}.${input.id}` })),
    ),
    encoders: experts.flatMap((e) => e.encoders),
    forward(x, missing, n) {
      // Every expert predicts every row (a missing one on zeros, as at training); combineLate masks
      // an expert where all its inputs are missing.
      let at = 0;
      const absent: Uint8Array[] = [];
      const probs = experts.map((e) => {
        const span = e.inputs.length;
        const ms = missing.slice(at, at + span);
        const { probs } = e.predictFeatures(x.slice(at, at + span), ms, n);
        at += span;
        absent.push(expertMissing(ms, n));
        return probs;
      });
      return { probs: combineLate(probs, absent, late.weights, n, labels.length) };
    },
    explain: null,
    gate: null,
    dispose() {
      experts.forEach((e) => e.dispose());
    },
  };
}
