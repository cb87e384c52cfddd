/**
 * The runs a config reads, found and (when missing) trained: a fusion's branches taken `from` a
 * trained run, a late fusion's experts. This is the one resolution `train`, `run-all`, the demo
 * and the library share. A source run lives in the sources folder (default: beside the run that
 * reads it) under its config's name; a missing one is trained there first, with the same seed
 * rule as run-all (the source's own seed plus the reader's offset from its shipped seed).
 * Folders are passed as arguments, never through process.env.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MmgenreError } from '../util/errors.js';
import {
  loadConfig,
  resolveConfigPath,
  shippedConfigNames,
  withOverrides,
  type TrainConfig,
} from './config.js';
import { RUN_FILES } from './run.js';

/** One run a config reads. */
export interface SourceRun {
  /** Where the config names it: `branches.<input>.from.run` or `experts.<input>`. */
  role: string;
  /** The name or path as the config gives it. */
  ref: string;
  /** Absolute run directory. */
  dir: string;
  /** The config that trains it when it is missing (null: an absolute run path, never trained here). */
  config: string | null;
}

/** What run.json records of a source run. */
export interface SourceRunRecord {
  role: string;
  ref: string;
  dir: string;
  seed?: number;
  /** Trained by this call (false: found finished). */
  trained: boolean;
}

export class SourceRunError extends MmgenreError {
  constructor(message: string, hint?: string) {
    super('prerequisite', message, { hint });
  }
}

/** A run directory that holds a finished model (a saved tfjs model, or a late fusion's late.json). */
export function isFinishedRun(dir: string): boolean {
  return existsSync(join(dir, RUN_FILES.modelDir, 'model.json')) || existsSync(join(dir, 'late.json'));
}

type Branches = Record<string, { from?: { run: string; layer?: string } }>;

function branchesOf(c: TrainConfig): Branches {
  return ((c.model as { branches?: Branches }).branches ?? {}) as Branches;
}

function expertsOf(c: TrainConfig): Record<string, string> {
  return c.model.type === 'late' ? ((c.model as { experts?: Record<string, string> }).experts ?? {}) : {};
}

/** A relative branch run is a run name: trained from the shipped config of that name. */
function branchSource(role: string, ref: string, sourcesDir: string): SourceRun {
  if (isAbsolute(ref)) return { role, ref, dir: ref, config: null };
  return {
    role,
    ref,
    dir: resolve(sourcesDir, ref),
    config: shippedConfigNames().includes(ref) ? ref : null,
  };
}

/** An expert is a config (shipped name or YAML path): its run is named after the config. */
function expertSource(role: string, ref: string, sourcesDir: string): SourceRun {
  let name: string;
  try {
    name = loadConfig(ref).name;
  } catch (err) {
    throw new SourceRunError(`${role}: ${(err as Error).message}`);
  }
  const config = existsSync(ref) ? resolveConfigPath(ref) : ref;
  return { role, ref, dir: resolve(sourcesDir, name), config };
}

/** The runs `config` reads, with the directories they have in `sourcesDir`. */
export function sourceRunsOf(config: TrainConfig, sourcesDir: string): SourceRun[] {
  const out: SourceRun[] = [];
  for (const [id, b] of Object.entries(branchesOf(config)))
    if (b.from) out.push(branchSource(`branches.${id}.from.run`, b.from.run, sourcesDir));
  for (const [id, ref] of Object.entries(expertsOf(config)))
    out.push(expertSource(`experts.${id}`, ref, sourcesDir));
  return out;
}

/** Config names (or paths) of the source runs to train before `config` (its trainable sources). */
export function sourceConfigsOf(config: TrainConfig): string[] {
  return sourceRunsOf(config, '.').flatMap((s) => (s.config ? [s.config] : []));
}

/**
 * The config with every source given as its run directory: branches' `from.run` and late
 * experts become absolute paths in `sourcesDir`. What the model families read.
 */
export function withSourceDirs(config: TrainConfig, sourcesDir: string): TrainConfig {
  const sources = sourceRunsOf(config, sourcesDir);
  if (sources.length === 0) return config;
  const model = structuredClone(config.model) as TrainConfig['model'] & {
    branches?: Branches;
    experts?: Record<string, string>;
  };
  for (const [id, b] of Object.entries(model.branches ?? {}))
    if (b.from) b.from.run = sources.find((s) => s.role === `branches.${id}.from.run`)!.dir;
  for (const id of Object.keys(model.experts ?? {}))
    model.experts![id] = sources.find((s) => s.role === `experts.${id}`)!.dir;
  return { ...config, model };
}

export interface EnsureSourcesOptions {
  /** Where source runs are found and trained (default: the folder holding the reader's run). */
  sourcesDir: string;
  /** Added to each source config's own seed (the reader's seed minus its config's seed). */
  seedOffset: number;
  /** Epoch cap passed on to the sources (quick runs). */
  epochs?: number;
  /** Trains one missing source (trainFromConfig, passed in to keep this module free of the pipeline). */
  train(config: TrainConfig, out: string, resume: boolean): Promise<{ status: string }>;
}

/** Every source run of `config`, trained first where missing; what run.json records. */
export async function ensureSourceRuns(
  config: TrainConfig,
  opts: EnsureSourcesOptions,
): Promise<SourceRunRecord[]> {
  const records: SourceRunRecord[] = [];
  for (const s of sourceRunsOf(config, opts.sourcesDir)) {
    if (isFinishedRun(s.dir)) {
      records.push({ role: s.role, ref: s.ref, dir: s.dir, trained: false });
      continue;
    }
    if (!s.config)
      throw new SourceRunError(
        `${s.role}: source run ${s.dir} is not a finished run, and no shipped config is named '${s.ref}' to train it`,
        'train that run first, or point the config at a finished run',
      );
    const base = loadConfig(s.config);
    const seed = base.training.seed + opts.seedOffset;
    const overrides = { seed, ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}) };
    const r = await opts.train(
      withOverrides(base, overrides),
      s.dir,
      existsSync(join(s.dir, RUN_FILES.checkpoint)),
    );
    if (r.status !== 'done')
      throw new SourceRunError(`source run ${s.dir} (${s.role}) ended ${r.status}, not done`);
    records.push({ role: s.role, ref: s.ref, dir: s.dir, seed, trained: true });
  }
  return records;
}
