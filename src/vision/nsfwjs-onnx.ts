/**
 * 'mobilenet_v2_onnx' / 'inception_v3_onnx': the bundled nsfwjs MobileNetV2 / InceptionV3,
 * exported once to ONNX (into env.cacheDir/models) and run by onnxruntime-node. Same weights and
 * preprocessing as the tfjs encoders of the same name, several times the throughput; features
 * agree to float rounding.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { env } from '../env.js';
import { writeFileWithChecksum } from '../util/checksum.js';
import { UNIT_RANGE } from './image.js';
import { nsfwjsVersion } from './model-files.js';
import { OnnxEncoder, onnxOptionsSchema } from './onnx-encoder.js';
import { ONNX_EXPORT_VERSION, exportNsfwjsToOnnx } from './onnx-export.js';
import { parseOptions, posterOptionsSchema } from './poster-encoder.js';
import { NSFWJS_MODELS } from './tfjs-encoder.js';

const schema = posterOptionsSchema.extend({
  threads: z.number().int().positive().default(1),
  /** 'mean': the spatial mean of an intermediate layer (`layer`), one value per channel. */
  pool: z.enum(['none', 'mean']).default('none'),
});

class NsfwjsOnnxEncoder extends OnnxEncoder {
  private exported: Promise<void> | null = null;
  constructor(
    options: z.infer<typeof onnxOptionsSchema>,
    private readonly source: { model: string; layer: string },
  ) {
    super(options);
  }

  override async init(): Promise<void> {
    this.exported ??= (async () => {
      if (existsSync(this.opts.modelPath)) return;
      const bytes = await exportNsfwjsToOnnx(this.source.model, this.source.layer);
      writeFileWithChecksum(this.opts.modelPath, bytes);
    })().catch((err: unknown) => {
      this.exported = null;
      throw err;
    });
    await this.exported;
    await super.init();
  }
}

/** Factory for '<model>_onnx' (a Keras nsfwjs model: mobilenet_v2 or inception_v3). */
export function nsfwjsOnnxEncoder(model: 'mobilenet_v2' | 'inception_v3') {
  const name = `${model}_onnx`;
  return (options?: Record<string, unknown>): OnnxEncoder => {
    const o = parseOptions(schema, name, options);
    const spec = NSFWJS_MODELS[model];
    const layer = o.layer ?? spec.pooledOutput;
    const file = `${model}-nsfwjs${nsfwjsVersion()}-${layer.replace(/[^\w.-]/g, '_')}-x${ONNX_EXPORT_VERSION}.onnx`;
    const onnxOptions = onnxOptionsSchema.parse({
      ...o,
      layer: undefined,
      name,
      modelPath: join(env.cacheDir, 'models', file),
      inputSize: spec.inputSize,
      mean: UNIT_RANGE.mean,
      std: UNIT_RANGE.std,
      layout: 'NHWC',
    });
    return new NsfwjsOnnxEncoder(onnxOptions, { model, layer });
  };
}
