/**
 * The paper's n-gram rows: a linear layer with one sigmoid per genre on TF-IDF vectors of the
 * plot (word n-grams and character 3-grams, each fitted on the training split). Inputs are the
 * 'tfidf' encoder's rows, L2-normalised and mostly zeros; several are concatenated, and any other
 * flat input (the shipped config adds the mean GloVe vector) joins them in the same linear layer.
 *
 * Dense input rather than sparse: with a few tens of thousands of terms a batch of 32 is a
 * 32 × 20k by 20k × 23 matmul, a fraction of a millisecond on wasm (bench/train.ts), so the
 * gather-based sparse product would only add code.
 */
import { z } from 'zod';
import type { TfidfOptions } from '../text/tfidf.js';
import { registerModel } from './registry.js';
import { SpecBuilder, type ModelSpec } from './spec.js';
import { joinFlatInputs } from './classifier.js';

const tfidfLinearOptions = z.strictObject({
  /** Dropout on the TF-IDF input (drops terms; a cheap regulariser for many sparse features). */
  inputDropout: z.number().min(0).max(0.95).default(0),
});

registerModel('tfidf-linear', {
  description: 'linear sigmoid layer on TF-IDF n-gram vectors (word and character n-grams)',
  options: tfidfLinearOptions,
  build(o, ctx) {
    for (const i of ctx.inputs) {
      if (i.shape.length !== 1) throw new Error(`input '${i.id}' must be a flat TF-IDF vector`);
    }
    const b = new SpecBuilder();
    const x = joinFlatInputs(b, ctx.inputs, o.inputDropout);
    const output = b.add('output', [x], { units: ctx.labels.length }, { id: 'output', group: 'classifier' });
    const grams: string[] = [];
    const others: string[] = [];
    for (const i of ctx.inputs) {
      const opts = (i.source.options?.state as { options?: TfidfOptions } | undefined)?.options;
      if (opts) grams.push(`${opts.analyzer} ${opts.ngramRange.join('–')}-grams`);
      else if (i.source.encoder === 'tfidf') grams.push('tfidf');
      else others.push(i.source.encoder);
    }
    return {
      specVersion: 1,
      family: 'tfidf-linear',
      title: `Linear on TF-IDF (${grams.join(' + ')})${others.map((e) => ` + ${e}`).join('')}`,
      labels: [...ctx.labels],
      inputs: ctx.inputs,
      nodes: b.nodes,
      output,
    } satisfies ModelSpec;
  },
});
