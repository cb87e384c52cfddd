/**
 * Generated plot synopses and titles: sentence templates whose topic slots are filled mostly
 * with the movie's genre words and otherwise with neutral words, so the text carries a genre
 * signal (through the words themselves and their mean word vector) without being trivial.
 */
import type { Rng } from '../util/random.js';
import { FILLER, type GenreStyle } from './synth-genres.js';

/** Templates: {N} name, {M} second name, {T} topic word, {A} adjective, {O} neutral noun, {V} verb (3rd person), {B} verb (base form), {C} connective. */
const TEMPLATES = [
  '{N} is a {A} {T} who {V} a {T} in the {O}.',
  '{C} the {T} {V} {M}, {N} must {B} the {T}.',
  'The {A} {T} {V} the {O} of {N}.',
  '{N} {V} the {T} and the {T} near the {O}.',
  'Soon {N} {V} that the {T} {V} the {A} {O}.',
  'Years later, the {O} {V} a {T} {T}.',
  'With the help of {M}, {N} {V} a {A} {T}.',
  '{N} and {M} {B} the {T} {C} the {T} {V} the {O}.',
  'Nobody in the {O} {V} the {T}, {C} {N} {V} the {T}.',
  'Everything changes when a {T} {V} {N}.',
] as const;

export interface PlotOptions {
  /** Styles of the movie's genres; the first is the primary one and supplies most topic words. */
  styles: readonly GenreStyle[];
  /** Probability that a topic slot gets a genre word rather than a neutral one. */
  topicRate?: number;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function topicWord(rng: Rng, styles: readonly GenreStyle[], topicRate: number): string {
  if (rng.next() >= topicRate) return rng.pick(rng.next() < 0.5 ? FILLER.nouns : FILLER.adjectives);
  // The primary genre gets half of the topic words, the others share the rest.
  const style =
    styles.length === 1 || rng.next() < 0.5
      ? styles[0]
      : styles[1 + Math.floor(rng.next() * (styles.length - 1))];
  return rng.pick(style.words);
}

function sentence(rng: Rng, names: [string, string], opts: Required<PlotOptions>): string {
  const template = rng.pick(TEMPLATES);
  const text = template.replace(/\{([NMTAOVBC])\}/g, (_, slot: string) => {
    switch (slot) {
      case 'N':
        return names[0];
      case 'M':
        return names[1];
      case 'T':
        return topicWord(rng, opts.styles, opts.topicRate);
      case 'A':
        return rng.pick(FILLER.adjectives);
      case 'O':
        return rng.pick(FILLER.nouns);
      case 'V':
        return rng.pick(FILLER.verbs);
      case 'B':
        return rng.pick(FILLER.verbsBase);
      default:
        return rng.pick(FILLER.connectives);
    }
  });
  return capitalize(text);
}

/** One plot paragraph of `sentences` sentences about two characters. */
export function generatePlot(rng: Rng, sentences: number, opts: PlotOptions): string {
  const full: Required<PlotOptions> = { topicRate: 0.65, ...opts };
  const first = rng.pick(FILLER.names);
  let second = rng.pick(FILLER.names);
  if (second === first) second = FILLER.names[(FILLER.names.indexOf(first) + 1) % FILLER.names.length];
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(rng, [first, second], full));
  return out.join(' ');
}

/** A short title built from the primary genre's words. */
export function generateTitle(rng: Rng, primary: GenreStyle): string {
  const word = capitalize(rng.pick(primary.words));
  const noun = capitalize(rng.pick(FILLER.nouns));
  switch (rng.int(0, 3)) {
    case 0:
      return `The ${word} ${noun}`;
    case 1:
      return `${word} of the ${noun}`;
    case 2:
      return `${rng.pick(FILLER.names)}'s ${word}`;
    default:
      return `The ${capitalize(rng.pick(FILLER.adjectives))} ${word}`;
  }
}
