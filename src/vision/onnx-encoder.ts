/**
 * Any ONNX image model from disk as a poster encoder, run by onnxruntime-node (native CPU
 * kernels: several times faster than tfjs-wasm for CNNs). The user states the preprocessing the
 * model was trained with (input size, mean/std, layout); the output is the named model output,
 * flattened per image (rowShape keeps its shape).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { verifyChecksum } from '../util/checksum.js';
import { MmgenreError } from '../util/errors.js';
import type { InferenceSession } from 'onnxruntime-node';
import { IMAGENET_NORM, type Normalisation, type TensorLayout } from './image.js';
import { PosterEncoder, parseOptions, posterOptionsSchema } from './poster-encoder.js';

const CODE_VERSION = 1;

const triple = z.tuple([z.number(), z.number(), z.number()]);

export const onnxOptionsSchema = posterOptionsSchema.extend({
  modelPath: z.string().min(1),
  /** Square input side in pixels (default 224). */
  inputSize: z.number().int().positive().default(224),
  /** Per-channel mean/std applied to pixels scaled to [0, 1]; default torchvision's ImageNet values. */
  mean: triple.default(IMAGENET_NORM.mean),
  std: triple.default(IMAGENET_NORM.std),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
  /** Model input/output to use; default the first of each. */
  inputName: z.string().optional(),
  outputName: z.string().optional(),
  /** onnxruntime intra-op threads; 1 per encoder, so parallel workers each own a core. */
  threads: z.number().int().positive().default(1),
  /** Registry name reported by the encoder (wrappers such as mobilenet_v2_onnx set their own). */
  name: z.string().default('onnx'),
  /**
   * 'mean': the spatial mean of a feature-map output (an intermediate layer), one value per
   * channel; channels are last for an NHWC model, first for an NCHW one.
   */
  pool: z.enum(['none', 'mean']).default('none'),
  /**
   * Several outputs of one run of the model, each pooled as given, concatenated per image in this
   * order (replaces outputName/pool): how two layers of one network are computed in one pass.
   */
  heads: z
    .array(z.object({ output: z.string().min(1), pool: z.enum(['none', 'mean']).default('none') }))
    .min(1)
    .optional(),
});
export type OnnxEncoderOptions = z.infer<typeof onnxOptionsSchema>;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class OnnxEncoder extends PosterEncoder {
  readonly name: string;
  key = '';
  dim = 0;
  rowShape: number[] = [];
  protected readonly inputSize: { width: number; height: number };
  protected readonly norm: Normalisation;
  protected readonly layout: TensorLayout;
  private session: InferenceSession | null = null;
  private ort: typeof import('onnxruntime-node') | null = null;
  private inputName = '';
  private outputName = '';
  private loading: Promise<void> | null = null;
  /** The model's own row shape (before pooling). */
  private outputShape: number[] = [];
  /** With `heads`: each output's name, pooling, own row shape and width in the concatenated row. */
  private headShapes: Array<{ output: string; pool: 'none' | 'mean'; shape: number[]; dim: number }> = [];

  constructor(protected override readonly opts: OnnxEncoderOptions) {
    super(opts);
    this.name = opts.name;
    this.inputSize = { width: opts.inputSize, height: opts.inputSize };
    this.norm = { mean: opts.mean, std: opts.std };
    this.layout = opts.layout;
  }

  init(): Promise<void> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const path = resolve(this.opts.modelPath);
    if (!existsSync(path)) throw new MmgenreError('not-found', `ONNX model not found: ${path}`);
    // The file's digest is part of the cache key anyway; checked against the recorded one
    // before onnxruntime reads it (a changed byte gives other features, not an error).
    const digest = await sha256File(path);
    verifyChecksum(
      path,
      { hex: digest },
      'delete it (and its .sha256): an exported model is exported again on next use',
    );
    this.ort = await import('onnxruntime-node');
    this.session = await this.ort.InferenceSession.create(path, {
      intraOpNumThreads: this.opts.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
    const pick = (wanted: string | undefined, names: readonly string[], what: string): string => {
      if (wanted === undefined) return names[0];
      if (!names.includes(wanted))
        throw new Error(`${path} has no ${what} '${wanted}' (it has: ${names.join(', ')})`);
      return wanted;
    };
    this.inputName = pick(this.opts.inputName, this.session.inputNames, 'input');
    const s = this.opts.inputSize;
    if (this.opts.heads) {
      const names = this.session.outputNames;
      for (const h of this.opts.heads) pick(h.output, names, 'output');
      const probe = await this.runOutputs(
        new Float32Array(3 * s * s),
        1,
        this.opts.heads.map((h) => h.output),
      );
      this.headShapes = this.opts.heads.map((h, k) => {
        const shape = probe[k].dims.slice(1);
        if (h.pool === 'mean' && shape.length !== 3)
          throw new Error(
            `pool 'mean' needs a feature map; output '${h.output}' has rows of shape [${shape}]`,
          );
        const channels = this.layout === 'NHWC' ? shape[2] : shape[0];
        return { ...h, shape, dim: h.pool === 'mean' ? channels : shape.reduce((a, b) => a * b, 1) };
      });
      this.dim = this.headShapes.reduce((a, h) => a + h.dim, 0);
      this.rowShape = [this.dim];
      this.key = [
        this.name,
        `sha256=${(await sha256File(path)).slice(0, 16)}`,
        `in=${this.inputName}`,
        `heads=${this.opts.heads.map((h) => `${h.output}:${h.pool}`).join(',')}`,
        `layout=${this.layout}`,
        this.preprocessingKey(),
        `v${CODE_VERSION}`,
      ].join('|');
      return;
    }
    this.outputName = pick(this.opts.outputName, this.session.outputNames, 'output');
    // Output shapes may be symbolic: learn the row shape by running one blank image.
    const probe = await this.runRaw(new Float32Array(3 * s * s), 1);
    this.outputShape = probe.dims.slice(1);
    if (this.opts.pool === 'mean') {
      if (this.outputShape.length !== 3)
        throw new Error(
          `pool 'mean' needs a feature map (rank-3 rows); output '${this.outputName}' has rows of shape [${this.outputShape}]`,
        );
      this.rowShape = [this.layout === 'NHWC' ? this.outputShape[2] : this.outputShape[0]];
    } else this.rowShape = this.outputShape;
    this.dim = this.rowShape.reduce((a, b) => a * b, 1);
    this.key = [
      this.name,
      `sha256=${digest.slice(0, 16)}`,
      `in=${this.inputName}`,
      `out=${this.outputName}`,
      `layout=${this.layout}`,
      this.preprocessingKey(),
      `v${CODE_VERSION}`,
      // Only when pooling, so that the keys (and cache entries) of unpooled outputs stay as they were.
      ...(this.opts.pool === 'mean' ? ['pool=mean'] : []),
    ].join('|');
  }

  /** Spatial means of n feature maps of `shape`, channel by channel. */
  private poolMean(data: Float32Array, n: number, shape = this.outputShape): Float32Array {
    const size = shape.reduce((a, b) => a * b, 1);
    const channels = this.layout === 'NHWC' ? shape[2] : shape[0];
    const positions = size / channels;
    const channelsLast = this.layout === 'NHWC';
    const out = new Float32Array(n * channels);
    for (let r = 0; r < n; r++) {
      const row = data.subarray(r * size, (r + 1) * size);
      for (let p = 0; p < positions; p++) {
        for (let c = 0; c < channels; c++) {
          out[r * channels + c] += row[channelsLast ? p * channels + c : c * positions + p];
        }
      }
      for (let c = 0; c < channels; c++) out[r * channels + c] /= positions;
    }
    return out;
  }

  private async runRaw(pixels: Float32Array, n: number): Promise<{ data: Float32Array; dims: number[] }> {
    return (await this.runOutputs(pixels, n, [this.outputName]))[0];
  }

  /** One run of the model, returning the named outputs (copied out of onnxruntime's buffers). */
  private async runOutputs(
    pixels: Float32Array,
    n: number,
    names: string[],
  ): Promise<Array<{ data: Float32Array; dims: number[] }>> {
    if (!this.session || !this.ort) throw new Error('encoder not initialised');
    const s = this.opts.inputSize;
    const dims = this.layout === 'NCHW' ? [n, 3, s, s] : [n, s, s, 3];
    const input = new this.ort.Tensor('float32', pixels, dims);
    const result = await this.session.run({ [this.inputName]: input }, names);
    try {
      return names.map((name) => {
        const out = result[name];
        if (out.type !== 'float32') throw new Error(`output '${name}' is ${out.type}, expected float32`);
        return { data: out.data as Float32Array, dims: [...out.dims] };
      });
    } finally {
      input.dispose();
      for (const name of names) result[name]?.dispose();
    }
  }

  protected async run(pixels: Float32Array, n: number): Promise<Float32Array> {
    if (this.headShapes.length) {
      const outs = await this.runOutputs(
        pixels,
        n,
        this.headShapes.map((h) => h.output),
      );
      const rows = new Float32Array(n * this.dim);
      let offset = 0;
      this.headShapes.forEach((h, k) => {
        const part = h.pool === 'mean' ? this.poolMean(outs[k].data, n, h.shape) : outs[k].data;
        for (let r = 0; r < n; r++)
          rows.set(part.subarray(r * h.dim, (r + 1) * h.dim), r * this.dim + offset);
        offset += h.dim;
      });
      return rows;
    }
    const { data } = await this.runRaw(pixels, n);
    return this.opts.pool === 'mean' ? this.poolMean(data, n) : data;
  }

  dispose(): void {
    void this.session?.release();
    this.session = null;
    this.loading = null;
  }
}

export function onnxEncoder(options?: Record<string, unknown>): OnnxEncoder {
  return new OnnxEncoder(parseOptions(onnxOptionsSchema, 'onnx', options));
}
