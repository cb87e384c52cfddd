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
import type { EncoderFactory } from '../data/feature-types.js';
import { ONNX_EXPORT_VERSION, exportNsfwjsToOnnx, extraOutputName } from './onnx-export.js';
import { parseOptions, posterOptionsSchema } from './poster-encoder.js';
import { NSFWJS_MODELS } from './tfjs-encoder.js';

const poolSchema = z.enum(['none', 'mean']).default('none');
const schema = posterOptionsSchema.extend({
  threads: z.number().int().positive().default(1),
  /** 'mean': the spatial mean of an intermediate layer (`layer`), one value per channel. */
  pool: poolSchema,
  /**
   * Several layers from one run of the network (replaces layer/pool), concatenated per poster in
   * this order; what feature extraction uses to fill the cache entries of two layers at once.
   */
  heads: z
    .array(z.object({ layer: z.string().min(1).optional(), pool: poolSchema }))
    .min(1)
    .optional(),
});

class NsfwjsOnnxEncoder extends OnnxEncoder {
  private exported: Promise<void> | null = null;
  constructor(
    options: z.infer<typeof onnxOptionsSchema>,
    private readonly source: { model: string; layer: string; extraLayers: string[] },
  ) {
    super(options);
  }

  override async init(): Promise<void> {
    this.exported ??= (async () => {
      if (existsSync(this.opts.modelPath)) return;
      const bytes = await exportNsfwjsToOnnx(this.source.model, this.source.layer, this.source.extraLayers);
      writeFileWithChecksum(this.opts.modelPath, bytes);
    })().catch((err: unknown) => {
      this.exported = null;
      throw err;
    });
    await this.exported;
    await super.init();
  }
}

const fileSafe = (layer: string): string => layer.replace(/[^\w.-]/g, '_');

/** Factory for '<model>_onnx' (a Keras nsfwjs model: mobilenet_v2 or inception_v3). */
export function nsfwjsOnnxEncoder(model: 'mobilenet_v2' | 'inception_v3'): EncoderFactory {
  const name = `${model}_onnx`;
  const spec = NSFWJS_MODELS[model];
  const factory: EncoderFactory = (options?: Record<string, unknown>): OnnxEncoder => {
    const o = parseOptions(schema, name, options);
    // One exported file per set of layers: the first layer is output 'features', the others
    // 'features:<layer>' (a single-layer file is the same as before heads existed). Two heads may
    // read one layer (pooled and not): the file has each layer once.
    const headLayers = o.heads
      ? o.heads.map((h) => h.layer ?? spec.pooledOutput)
      : [o.layer ?? spec.pooledOutput];
    const layers = [...new Set(headLayers)];
    const [layer, ...extraLayers] = layers;
    if (o.heads && new Set(o.heads.map((h, k) => `${headLayers[k]}:${h.pool}`)).size !== o.heads.length)
      throw new Error(`${name}: two heads read the same layer with the same pooling`);
    const outputOf = (l: string): string => (l === layer ? 'features' : extraOutputName(l));
    const file = `${model}-nsfwjs${nsfwjsVersion()}-${layers.map(fileSafe).join('+')}-x${ONNX_EXPORT_VERSION}.onnx`;
    const onnxOptions = onnxOptionsSchema.parse({
      ...o,
      layer: undefined,
      name,
      modelPath: join(env.cacheDir, 'models', file),
      inputSize: spec.inputSize,
      mean: UNIT_RANGE.mean,
      std: UNIT_RANGE.std,
      layout: 'NHWC',
      heads: o.heads?.map((h, k) => ({ output: outputOf(headLayers[k]), pool: h.pool })),
    });
    return new NsfwjsOnnxEncoder(onnxOptions, { model, layer, extraLayers });
  };
  // Variants that differ only in layer and pooling read one network run on the same image.
  factory.jointGroup = (options) => {
    const { layer: _layer, pool: _pool, heads, ...rest } = parseOptions(schema, name, options);
    if (heads) return null;
    return JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b)));
  };
  factory.jointOptions = (variants) => {
    const parsed = variants.map((v) => parseOptions(schema, name, v));
    const { layer: _layer, pool: _pool, ...rest } = parsed[0];
    return { ...rest, heads: parsed.map((p) => ({ layer: p.layer ?? spec.pooledOutput, pool: p.pool })) };
  };
  return factory;
}
