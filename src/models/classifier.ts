/**
 * The spec pieces every model family ends or starts with, so that node ids (and thus saved
 * weights) stay the same across families: flat inputs joined, and the classifier on top.
 */
import type { InputSpec, SpecBuilder } from './spec.js';

/** The inputs concatenated (when several) with input dropout; the node id to build on. */
export function joinFlatInputs(b: SpecBuilder, inputs: readonly InputSpec[], inputDropout: number): string {
  let x =
    inputs.length === 1
      ? inputs[0].id
      : b.add(
          'concat',
          inputs.map((i) => i.id),
          {},
          { id: 'concat', group: 'inputs' },
        );
  if (inputDropout > 0)
    x = b.add('dropout', [x], { rate: inputDropout }, { id: 'input_dropout', group: 'classifier' });
  return x;
}

/** Dropout + ReLU hidden layers, dropout, then the sigmoid output layer; the output node id. */
export function addClassifier(
  b: SpecBuilder,
  x: string,
  opts: { hidden: readonly number[]; dropout: number; labels: number },
): string {
  opts.hidden.forEach((units, k) => {
    if (opts.dropout > 0)
      x = b.add('dropout', [x], { rate: opts.dropout }, { id: `dropout_${k + 1}`, group: 'classifier' });
    x = b.add('dense', [x], { units, activation: 'relu' }, { id: `hidden_${k + 1}`, group: 'classifier' });
  });
  if (opts.dropout > 0)
    x = b.add('dropout', [x], { rate: opts.dropout }, { id: 'dropout', group: 'classifier' });
  return b.add('output', [x], { units: opts.labels }, { id: 'output', group: 'classifier' });
}
