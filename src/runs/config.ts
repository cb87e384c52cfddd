/**
 * Training configs: YAML files validated with zod. A config names its inputs (which encoder's
 * cached features), the model (a registered family and its options) and the training
 * settings. Errors name the file and the bad key (`training.batchSize: ...`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { parseModelOptions } from '../models/registry.js';
import '../models/index.js';
import { MmgenreError, type MmgenreErrorOptions } from '../util/errors.js';

const inputSchema = z.strictObject({
  /** Node id in the model, e.g. 'poster', 'plot'. */
  id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower-case letters, digits and _'),
  encoder: z.string().min(1),
  /** Encoder options, e.g. { layer: 'block_16' } for trunk activations. */
  options: z.record(z.string(), z.unknown()).optional(),
  kind: z.enum(['features', 'sequence']).default('features'),
  modality: z.enum(['poster', 'plot', 'title', 'companies']).optional(),
  normalize: z.enum(['zscore', 'l2', 'none']).default('zscore'),
  /**
   * Training-only views of this input, each an options overlay (e.g. `{flip: true}` for the
   * mirrored poster): every view adds one more copy of each training movie (augmentation).
   */
  trainViews: z.array(z.record(z.string(), z.unknown())).optional(),
  /** Feature size, only needed to draw a diagram without data (training reads it from the features). */
  dim: z.number().int().positive().optional(),
});

export const trainingSchema = z.strictObject({
  epochs: z.number().int().positive().default(30),
  batchSize: z.number().int().positive().default(32),
  lr: z.number().positive().default(1e-3),
  /** Decoupled weight decay (AdamW-style), per step: w ← w − lr·weightDecay·w on kernels. */
  weightDecay: z.number().min(0).default(0),
  /** 'balanced': positive weight (negatives / positives) per genre, as MMBT's pos_weight. */
  classWeights: z.enum(['none', 'balanced']).default('none'),
  /** Cap on a balanced positive weight (a genre with 1 positive in 967 would get 966). */
  maxPosWeight: z.number().positive().optional(),
  /** Stop after this many epochs without a better dev macro-F1 (0: never stop early). */
  patience: z.number().int().min(0).default(5),
  seed: z.number().int().min(0).default(42),
  /**
   * Modality dropout: each epoch, a training movie with two or more inputs present loses one of
   * them (chosen uniformly; its row zeroed, as a missing input reads) with this probability.
   */
  modalityDropout: z.number().min(0).max(0.9).default(0),
  /**
   * What computes the gradients: 'onnx' (onnxruntime, multithreaded: dense heads and fusions),
   * 'tfjs', or 'auto' (onnx where the model can be written as an ONNX training graph, else tfjs).
   */
  engine: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
  /** Decision threshold of the dev macro-F1 that selects the best epoch. */
  threshold: z.number().gt(0).lt(1).default(0.5),
});

const configSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be letters, digits, ".", "_" or "-"'),
  description: z.string().optional(),
  inputs: z.array(inputSchema).min(1),
  model: z.looseObject({ type: z.string().min(1) }),
  training: trainingSchema.prefault({}),
});

export type InputConfig = z.infer<typeof inputSchema>;
export type TrainingSettings = z.infer<typeof trainingSchema>;
export type TrainConfig = z.infer<typeof configSchema>;

export class ConfigError extends MmgenreError {
  constructor(message: string, options?: MmgenreErrorOptions) {
    super('config', message, options);
  }
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const at = i.path.join('.');
      if (i.code === 'unrecognized_keys') {
        const keys = i.keys.map((k) => (at ? `${at}.${k}` : k));
        return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`;
      }
      return `${at || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

/** Validate a parsed config object (from YAML or code). `source` names it in errors. */
export function parseConfig(raw: unknown, source = 'config'): TrainConfig {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${source}: ${formatIssues(r.error.issues)}`);
  const config = r.data;
  const ids = new Set<string>();
  for (const i of config.inputs) {
    if (ids.has(i.id)) throw new ConfigError(`${source}: inputs: duplicate id '${i.id}'`);
    ids.add(i.id);
  }
  const { type, ...options } = config.model;
  try {
    parseModelOptions(type, options);
  } catch (err) {
    throw new ConfigError(`${source}: ${(err as Error).message}`);
  }
  return config;
}

/** The folder of configs shipped with the package (`configs/` at the package root). */
export function shippedConfigDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let k = 0; k < 6; k++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && existsSync(join(dir, 'configs'))) return join(dir, 'configs');
    dir = dirname(dir);
  }
  throw new Error('cannot find the shipped configs/ folder');
}

/** Each shipped config's name and the first sentence of its header comment. */
export function shippedConfigList(): Array<{ name: string; description: string }> {
  return shippedConfigNames().map((name) => {
    const text = readFileSync(join(shippedConfigDir(), `${name}.yaml`), 'utf8');
    const lines = text.split('\n');
    const end = lines.findIndex((l) => !l.startsWith('#'));
    const header = lines.slice(0, end < 0 ? lines.length : end).map((l) => l.replace(/^#\s?/, ''));
    const first = header.join(' ').split(/(?<=[.:])\s/)[0] ?? '';
    return { name, description: first.replace(/[.:]$/, '') };
  });
}

export function shippedConfigNames(): string[] {
  return readdirSync(shippedConfigDir())
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'))
    .sort();
}

/** A shipped config's name (`poster-frozen`) or a YAML file's path → the file's absolute path. */
export function resolveConfigPath(nameOrPath: string): string {
  const asPath = resolve(nameOrPath);
  if (existsSync(asPath)) return asPath;
  if (/^[A-Za-z0-9._-]+$/.test(nameOrPath)) {
    const shipped = join(shippedConfigDir(), `${nameOrPath.replace(/\.ya?ml$/, '')}.yaml`);
    if (existsSync(shipped)) return shipped;
  }
  throw new ConfigError(
    `no config '${nameOrPath}': not a file, and not a shipped config (shipped: ${shippedConfigNames().join(', ')})`,
  );
}

/** Load and validate a config by shipped name or path. */
export function loadConfig(nameOrPath: string): TrainConfig {
  const path = resolveConfigPath(nameOrPath);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, path);
}

export interface TrainingOverrides {
  epochs?: number;
  seed?: number;
  lr?: number;
  batchSize?: number;
  patience?: number;
  engine?: TrainingSettings['engine'];
}

/** The config with command-line overrides applied (validated again). */
export function withOverrides(config: TrainConfig, o: TrainingOverrides): TrainConfig {
  const training = { ...config.training };
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (training as Record<string, unknown>)[k] = v;
  return parseConfig({ ...config, training }, `config '${config.name}' with overrides`);
}

export function configToYaml(config: TrainConfig): string {
  return stringifyYaml(config);
}

/** The modality of an input: given, or implied by its id. */
export function inputModality(i: InputConfig): 'poster' | 'plot' | 'title' | 'companies' {
  if (i.modality) return i.modality;
  if (i.id === 'poster' || i.id === 'plot' || i.id === 'title' || i.id === 'companies') return i.id;
  throw new ConfigError(`input '${i.id}': say its modality (poster, plot, title or companies)`);
}
