/** Option values that mean the same in every command, parsed in one place. */
import { CliError } from './errors.js';

/** `--threshold`: 0.5 (the paper's), `tuned` (per-genre thresholds tuned on dev), or a number in (0, 1). */
export type ThresholdOption = 'tuned' | number;

export const THRESHOLD_HELP = "0.5 (the paper's), tuned (per-genre, tuned on dev) or a number in (0, 1)";

export function parseThresholdOption(v: string): ThresholdOption {
  if (v === 'tuned') return 'tuned';
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n >= 1)
    throw new CliError(`--threshold must be 0.5, tuned or a number in (0, 1), got "${v}"`);
  return n;
}

/** `--top`: a positive whole number. */
export function parseTopOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--top must be a positive whole number, got "${v}"`);
  return n;
}

/** `--freshness`: how cached rows are judged current (shared with `train`). */
export const FRESHNESS_HELP =
  'how cached features are judged current: stat (each poster’s size and mtime) or content (also the sha256 of ' +
  'its bytes; reads every poster on each run) (default: stat, or $MMGENRE_FEATURE_FRESHNESS)';

export function freshnessArg(v: string): 'stat' | 'content' {
  if (v !== 'stat' && v !== 'content') throw new CliError(`--freshness must be stat or content, got '${v}'`);
  return v;
}
