/** The `mmgenre features extract ...` command that fills a cache entry, for messages that name it. */
import { resolve } from 'node:path';
import type { Dataset } from '../data/types.js';
import { env } from '../env.js';
import { normaliseSpec, type EncoderSpec } from './registry.js';

/** The CLI command that fills a cache entry. */
export function extractCommand(
  dataset: Dataset,
  spec: EncoderSpec,
  opts: { dtype?: string; cacheDir?: string } = {},
): string {
  const { name, options } = normaliseSpec(spec);
  const parts = ['mmgenre features extract', `--data ${shellQuote(dataset.root)}`, `--encoder ${name}`];
  for (const [k, v] of Object.entries(options)) {
    if (k === 'layer') parts.push(`--layer ${shellQuote(String(v))}`);
    else if (k === 'flip') {
      if (v) parts.push('--flip');
    } else parts.push(`--opt ${shellQuote(`${k}=${JSON.stringify(v)}`)}`);
  }
  if (opts.dtype && opts.dtype !== 'float32') parts.push(`--dtype ${opts.dtype}`);
  if (opts.cacheDir && resolve(opts.cacheDir) !== env.cacheDir)
    parts.push(`--cache ${shellQuote(opts.cacheDir)}`);
  return parts.join(' ');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
