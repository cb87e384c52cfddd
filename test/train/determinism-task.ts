// A small but complete training task (two inputs, GMU fusion with dropout, modality dropout,
// class weights, weight decay): everything that draws random numbers or updates weights in place.
import { specFor, type InputSpec } from '../../src/models/index.js';
import { fit, trainingSchema } from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';

export interface DeterminismJob {
  seed: number;
}

export interface DeterminismResult {
  history: Array<{ loss: number; devMacroF1: number }>;
  weights: number[];
}

const inputs: InputSpec[] = [
  {
    id: 'poster',
    modality: 'poster',
    source: { kind: 'features', encoder: 'synthetic' },
    shape: [48],
    dtype: 'float32',
  },
  {
    id: 'plot',
    modality: 'plot',
    source: { kind: 'features', encoder: 'synthetic' },
    shape: [12],
    dtype: 'float32',
  },
];

export async function trainGmuLike(job: DeterminismJob): Promise<DeterminismResult> {
  const data = syntheticTrainingData({
    dims: [48, 12],
    sizes: { train: 256, dev: 64, test: 0 },
    noise: 2,
    seed: 3,
  });
  const spec = specFor(
    'gmu',
    { project: 0, units: 32, hidden: [], dropout: 0.3 },
    { labels: data.labels, inputs },
  );
  const settings = trainingSchema.parse({
    epochs: 4,
    batchSize: 32,
    patience: 0,
    seed: job.seed,
    classWeights: 'balanced',
    weightDecay: 0.01,
    modalityDropout: 0.2,
  });
  const r = await fit(spec, data, { settings, progress: false });
  const weights = r.built.model.getWeights().flatMap((w) => Array.from(w.dataSync()));
  r.built.model.dispose();
  return { history: r.history.map(({ loss, devMacroF1 }) => ({ loss, devMacroF1 })), weights };
}
