/**
 * One place that turns an encoder name (+ options) into an Encoder: the built-in poster and
 * plot encoders, plus any registered at run time. Worker threads build their encoder here too,
 * from the same name and options, so a run-time encoder that should run in workers is
 * registered with the URL of a module that registers it when imported.
 */
import type { Encoder, EncoderFactory, EncoderOptions } from '../data/feature-types.js';
import { MmgenreError } from '../util/errors.js';

export type { EncoderFactory, EncoderOptions } from '../data/feature-types.js';

/** How callers name an encoder: a registry name, or a name with options (e.g. `{ layer, flip }`). */
export type EncoderSpec = string | { name: string; options?: EncoderOptions };

interface Registered {
  factory: EncoderFactory;
  /** Module whose import registers this encoder (so worker threads can build it). */
  module?: string;
  builtin: boolean;
}

const registry = new Map<string, Registered>();
let builtinsLoaded: Promise<void> | null = null;

/**
 * The built-in encoders live in src/vision and src/text. They are imported lazily (and only once)
 * because they pull in TensorFlow.js and the word vectors, which most CLI commands never need.
 */
export function loadBuiltinEncoders(): Promise<void> {
  builtinsLoaded ??= (async () => {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    for (const [path, exportName] of [
      [`../vision/index${ext}`, 'visionEncoders'],
      [`../text/index${ext}`, 'textEncoders'],
      [`./hdf5-encoders${ext}`, 'hdf5Encoders'],
    ] as const) {
      let mod: Record<string, unknown>;
      try {
        mod = (await import(new URL(path, import.meta.url).href)) as Record<string, unknown>;
      } catch (err) {
        // A missing module (a partial install) leaves its encoders out; any other error is real.
        if (
          (err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
          String(err).includes(path.slice(3))
        )
          continue;
        throw err;
      }
      const factories = mod[exportName] as Record<string, EncoderFactory> | undefined;
      for (const [name, factory] of Object.entries(factories ?? {})) {
        if (!registry.has(name)) registry.set(name, { factory, builtin: true });
      }
    }
  })();
  return builtinsLoaded;
}

/**
 * Add an encoder under `name`. Pass `module` (a file URL or path of a module that calls
 * registerEncoder when imported) to let extraction run it in worker threads; without it,
 * extraction runs that encoder in the calling thread.
 */
export function registerEncoder(
  name: string,
  factory: EncoderFactory,
  opts: { module?: string | URL } = {},
): void {
  const module = opts.module === undefined ? undefined : String(opts.module);
  registry.set(name, { factory, module, builtin: false });
}

/** Names of every encoder known now (built-ins appear after `loadBuiltinEncoders()`). */
export function knownEncoders(): string[] {
  return [...registry.keys()].sort();
}

/** Build an encoder (not yet initialised). Throws listing the known names for an unknown one. */
export function createEncoder(name: string, options?: EncoderOptions): Encoder {
  const entry = registry.get(name);
  if (!entry) {
    const known = knownEncoders();
    throw new MmgenreError(
      'input',
      `unknown encoder '${name}'; known encoders: ${known.length ? known.join(', ') : '(none loaded)'}`,
    );
  }
  return entry.factory(options);
}

/** Async variant that loads the built-ins first: what the cache and the CLI use. */
export async function resolveEncoder(spec: EncoderSpec): Promise<Encoder> {
  await loadBuiltinEncoders();
  const { name, options } = normaliseSpec(spec);
  return createEncoder(name, options);
}

export function normaliseSpec(spec: EncoderSpec): { name: string; options: EncoderOptions } {
  if (typeof spec === 'string') return { name: spec, options: {} };
  return { name: spec.name, options: { ...(spec.options ?? {}) } };
}

/**
 * The group key under which `name` with `options` may be computed together with other variants
 * of the same encoder (see EncoderFactory.jointGroup), or null.
 */
export function jointGroupOf(name: string, options: EncoderOptions): string | null {
  const f = registry.get(name)?.factory;
  return f?.jointGroup && f.jointOptions ? f.jointGroup(options) : null;
}

/** Options of the encoder that computes `variants` of `name` in one pass (same jointGroupOf). */
export function jointOptionsOf(name: string, variants: EncoderOptions[]): EncoderOptions {
  const f = registry.get(name)?.factory;
  if (!f?.jointOptions) throw new Error(`encoder '${name}' cannot compute several variants at once`);
  return f.jointOptions(variants);
}

/**
 * Whether `name` can be built inside a worker thread: built-ins always can; a run-time encoder
 * only when registered with its module. Returns the module to import first ('' for built-ins).
 */
export function workerModuleFor(name: string): string | null {
  const entry = registry.get(name);
  if (!entry) return null;
  if (entry.builtin) return '';
  return entry.module ?? null;
}
