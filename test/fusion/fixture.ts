/**
 * The synthetic two-modality setting the fusion tests share: a poster and a plot feature input,
 * data with a learnable signal in both, the settings of a small plot-only MLP, and a trained
 * plot-only run (what a fusion's `branches.plot.from: {run}` reads).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { specFor, type InputSpec } from '../../src/models/index.js';
import { parseConfig, trainOnData, type TrainConfig, type TrainingData } from '../../src/train/index.js';
import { syntheticTrainingData } from '../helpers/synthetic-training.js';
import { tempDir } from '../helpers/shared.js';

export const featureInput = (id: 'poster' | 'plot', dim: number, encoder = 'synthetic'): InputSpec => ({
  id,
  modality: id,
  source: { kind: 'features', encoder, normalize: 'none' },
  shape: [dim],
  dtype: 'float32',
});

export interface PosterPlotFixture {
  dims: number[];
  data: TrainingData;
  inputs: InputSpec[];
  labels: string[];
}

/** Poster and plot features of the given sizes; 160 / 40 / 40 movies unless told. */
export function posterPlotData(
  dims: [number, number],
  seed: number,
  sizes = { train: 160, dev: 40, test: 40 },
): PosterPlotFixture {
  const data = syntheticTrainingData({ dims, sizes, noise: 2, seed });
  return {
    dims,
    data,
    inputs: [featureInput('poster', dims[0]), featureInput('plot', dims[1])],
    labels: data.labels,
  };
}

/** Settings of a small plot-only MLP run (3 epochs, lr 0.01). */
export function plotMlpSettings(
  name: string,
  seed: number,
  training: Record<string, unknown> = {},
): TrainConfig {
  return parseConfig({
    name,
    inputs: [{ id: 'plot', encoder: 'synthetic', normalize: 'none' }],
    model: { type: 'mlp' },
    training: { epochs: 3, patience: 0, lr: 0.01, seed, ...training },
  });
}

/**
 * A trained text-only MLP run (default hidden_1: 8 relu units; `model` overrides the MLP's
 * options) on the fixture's plot input; its directory.
 */
export async function trainPlotRun(
  fx: PosterPlotFixture,
  settings: TrainConfig,
  model: Record<string, unknown> = { hidden: [8], dropout: 0 },
): Promise<string> {
  const out = join(tempDir(), 'plot-mlp');
  const only = (s: TrainingData['train']) => ({ ...s, x: [s.x[1]], missing: [s.missing[1]] });
  const { data } = fx;
  const uni = {
    ...data,
    dims: [fx.dims[1]],
    train: only(data.train),
    dev: only(data.dev),
    test: only(data.test!),
  };
  const spec = specFor('mlp', model, { labels: fx.labels, inputs: [fx.inputs[1]] });
  const r = await trainOnData(settings, spec, uni, [{ kind: 'none' }], { out, progress: false });
  assert.equal(r.status, 'done');
  return out;
}
