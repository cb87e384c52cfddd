/**
 * Plot token-id sequences as a cacheable "encoder": adapts the text module's
 * computeSequenceFeatures (one vocabulary, no padding) to the chunked cache. Importing this
 * module installs it as the sequence encoder factory (compute.ts imports it lazily).
 */
import type { MovieRecord } from '../data/types.js';
import { computeSequenceFeatures, sequenceFeaturesKey, sequenceVocabulary } from '../text/encoders.js';
import type { SequenceFeatureOptions } from '../text/encoders.js';
import { setSequenceEncoderFactory, type SequenceEncoder } from './compute.js';

/** Tokens kept per plot when no `maxLen` is given (the recurrent models' default length). */
export const DEFAULT_MAX_LEN = 200;

export function plotSequenceEncoder(options: Record<string, unknown> = {}): SequenceEncoder {
  const o = { maxLen: DEFAULT_MAX_LEN, ...options } as SequenceFeatureOptions;
  const key = sequenceFeaturesKey(o); // validates the options too
  const enc: SequenceEncoder = {
    name: 'plot-sequences',
    key,
    vocabSize: 0,
    async init() {
      if (enc.vocabSize === 0) enc.vocabSize = (await sequenceVocabulary(o)).vocab.size;
    },
    async encode(records: MovieRecord[]) {
      const r = await computeSequenceFeatures(records, o);
      return r.sequences.map((seq, i) => (r.errors[i] ? { error: r.errors[i] as string } : seq));
    },
    dispose() {},
  };
  return enc;
}

setSequenceEncoderFactory(plotSequenceEncoder);
