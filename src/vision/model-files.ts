/**
 * File-system loading of TensorFlow.js models. tf.io.fileSystem lives in tfjs-node, which cannot
 * install here, so this is the small IOHandler it would have been. Two on-disk forms:
 * - the standard converter output: model.json + binary shard files;
 * - nsfwjs's bundles (dist/models/<name>/model.min.js + group1-shardXofY.min.js): CommonJS modules
 *   whose export is the model.json object, resp. one shard's bytes as a base64 string.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';

const require = createRequire(import.meta.url);

interface ModelJson {
  modelTopology?: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: io.TrainingConfig;
  userDefinedMetadata?: Record<string, unknown>;
  weightsManifest: io.WeightsManifestConfig;
}

/** Load a CommonJS bundle once, without keeping it in require's cache (shards are tens of MB). */
function requireUncached<T>(path: string): T {
  const resolved = require.resolve(path);
  try {
    return require(resolved) as T;
  } finally {
    delete require.cache[resolved];
  }
}

/** Directory of a bundled nsfwjs model ('mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3'). */
export function nsfwjsModelDir(name: string): string {
  return join(nsfwjsRoot(), 'dist', 'models', name);
}

/** nsfwjs's package folder (its exports map hides package.json; its CommonJS entry is dist/cjs/index.js). */
function nsfwjsRoot(): string {
  return dirname(dirname(dirname(require.resolve('nsfwjs'))));
}

/** nsfwjs's version, part of every bundled encoder's cache key. */
export function nsfwjsVersion(): string {
  const pkg = JSON.parse(readFileSync(join(nsfwjsRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * An IOHandler reading a model from `dir`: model.json + shards if present, else nsfwjs's
 * model.min.js + *.min.js bundles.
 */
export function fileSystemModelHandler(dir: string): io.IOHandler & { load(): Promise<io.ModelArtifacts> } {
  return {
    async load(): Promise<io.ModelArtifacts> {
      const standard = join(dir, 'model.json');
      const bundled = existsSync(standard) ? null : join(dir, 'model.min.js');
      if (bundled && !existsSync(bundled)) throw new Error(`no model.json or model.min.js in ${dir}`);
      const json: ModelJson = bundled
        ? requireUncached<ModelJson>(bundled)
        : (JSON.parse(readFileSync(standard, 'utf8')) as ModelJson);
      const weightSpecs: io.WeightsManifestEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        for (const p of group.paths) {
          parts.push(
            bundled
              ? Buffer.from(requireUncached<string>(join(dir, `${p}.min.js`)), 'base64')
              : readFileSync(join(dir, p)),
          );
        }
        weightSpecs.push(...group.weights);
      }
      const weightData = new Uint8Array(parts.reduce((a, b) => a + b.byteLength, 0));
      let offset = 0;
      for (const part of parts) {
        weightData.set(part, offset);
        offset += part.byteLength;
      }
      return {
        modelTopology: json.modelTopology as io.ModelArtifacts['modelTopology'],
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        trainingConfig: json.trainingConfig,
        userDefinedMetadata: json.userDefinedMetadata as io.ModelArtifacts['userDefinedMetadata'],
        weightSpecs,
        weightData: weightData.buffer,
      };
    },
  };
}
