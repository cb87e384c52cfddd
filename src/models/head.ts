/**
 * Classifier heads on fixed feature vectors: logistic regression, an MLP, and the paper's
 * MaxoutMLP. Several inputs (e.g. poster + plot features) are concatenated first.
 */
import { z } from 'zod';
import { registerModel, type ModelBuildContext } from './registry.js';
import { SpecBuilder, type ModelSpec } from './spec.js';
import { joinFlatInputs } from './classifier.js';

const activation = z.enum(['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'softplus', 'linear']);
const rate = z.number().min(0).max(0.95);

const logisticOptions = z.strictObject({
  /** Dropout on the input features. */
  inputDropout: rate.default(0),
});

const mlpOptions = z.strictObject({
  hidden: z.array(z.number().int().positive()).min(1).default([512]),
  activation: activation.default('relu'),
  /** Dropout after each hidden layer. */
  dropout: rate.default(0.5),
  inputDropout: rate.default(0),
});

const maxoutOptions = z.strictObject({
  hidden: z.array(z.number().int().positive()).min(1).default([512]),
  pieces: z.number().int().min(2).max(16).default(2),
  dropout: rate.default(0.5),
  inputDropout: rate.default(0),
});

/** Concatenate the inputs (if several) and apply input dropout; returns the node id to build on. */
function trunk(b: SpecBuilder, ctx: ModelBuildContext, inputDropout: number): string {
  for (const i of ctx.inputs) {
    if (i.shape.length !== 1) {
      throw new Error(`input '${i.id}' has shape [${i.shape}]: a head needs flat feature vectors`);
    }
  }
  return joinFlatInputs(b, ctx.inputs, inputDropout);
}

function finish(b: SpecBuilder, ctx: ModelBuildContext, x: string, family: string, what: string): ModelSpec {
  const output = b.add('output', [x], { units: ctx.labels.length }, { id: 'output', group: 'classifier' });
  const on = ctx.inputs.map((i) => i.source.encoder).join(' + ');
  return {
    specVersion: 1,
    family,
    title: `${what} on ${on}`,
    labels: [...ctx.labels],
    inputs: ctx.inputs,
    nodes: b.nodes,
    output,
  };
}

registerModel('logistic', {
  description: 'logistic regression (one sigmoid per genre) on feature vectors',
  options: logisticOptions,
  build(o, ctx) {
    const b = new SpecBuilder();
    return finish(b, ctx, trunk(b, ctx, o.inputDropout), 'logistic', 'Logistic regression');
  },
});

registerModel('mlp', {
  description: 'multi-layer perceptron with dropout on feature vectors',
  options: mlpOptions,
  build(o, ctx) {
    const b = new SpecBuilder();
    let x = trunk(b, ctx, o.inputDropout);
    o.hidden.forEach((units, k) => {
      x = b.add(
        'dense',
        [x],
        { units, activation: o.activation },
        { id: `hidden_${k + 1}`, group: 'classifier' },
      );
      if (o.dropout > 0)
        x = b.add('dropout', [x], { rate: o.dropout }, { id: `dropout_${k + 1}`, group: 'classifier' });
    });
    return finish(b, ctx, x, 'mlp', `MLP ${o.hidden.join('-')}`);
  },
});

registerModel('maxout', {
  description: "the paper's MaxoutMLP: maxout hidden layers with dropout on feature vectors",
  options: maxoutOptions,
  build(o, ctx) {
    const b = new SpecBuilder();
    let x = trunk(b, ctx, o.inputDropout);
    o.hidden.forEach((units, k) => {
      x = b.add('maxout', [x], { units, pieces: o.pieces }, { id: `maxout_${k + 1}`, group: 'classifier' });
      if (o.dropout > 0)
        x = b.add('dropout', [x], { rate: o.dropout }, { id: `dropout_${k + 1}`, group: 'classifier' });
    });
    return finish(b, ctx, x, 'maxout', `MaxoutMLP ${o.hidden.join('-')}`);
  },
});
