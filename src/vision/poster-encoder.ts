/**
 * Shared plumbing of every poster encoder: option parsing, turning records into decoded images,
 * batching, and mapping bad posters to per-record errors. Subclasses only run a model on a
 * batch of normalised pixels.
 */
import { z } from 'zod';
import { MmgenreError } from '../util/errors.js';
import type { MovieRecord } from '../data/types.js';
import type { Encoder } from '../data/feature-types.js';
import {
  DEFAULT_MAX_PIXELS,
  ImageError,
  loadRgbBatch,
  posterInputs,
  writeNormalised,
  type PosterInput,
  type FitMode,
  type Normalisation,
  type RgbImage,
  type TensorLayout,
} from './image.js';

/** Options every poster encoder accepts (JSON-serialisable: the feature cache passes them to workers). */
export const posterOptionsSchema = z.object({
  /** Intermediate layer (or graph node) whose activation to return instead of the pooled feature. */
  layer: z.string().min(1).optional(),
  /** Encode the horizontally mirrored poster (augmentation). */
  flip: z.boolean().default(false),
  fit: z.enum(['crop', 'pad']).default('crop'),
  /** Images per model call. */
  batchSize: z.number().int().positive().default(16),
  maxPixels: z.number().int().positive().default(DEFAULT_MAX_PIXELS),
  /** Images decoded in parallel. */
  decodeConcurrency: z.number().int().positive().default(4),
});
export type PosterOptions = z.infer<typeof posterOptionsSchema>;

/** Parse user/JSON options with a clear message naming the encoder. */
export function parseOptions<S extends z.ZodType>(
  schema: S,
  encoder: string,
  options: Record<string, unknown> | undefined,
): z.infer<S> {
  const r = schema.safeParse(options ?? {});
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new MmgenreError('input', `invalid options for encoder '${encoder}': ${detail}`);
  }
  return r.data;
}

export type EncodeResult = Float32Array | { error: string };

export abstract class PosterEncoder implements Encoder {
  readonly modality = 'poster' as const;
  abstract readonly name: string;
  abstract key: string;
  abstract dim: number;
  abstract rowShape: number[];
  protected abstract readonly inputSize: { width: number; height: number };
  protected abstract readonly norm: Normalisation;
  protected abstract readonly layout: TensorLayout;

  constructor(protected readonly opts: PosterOptions) {}

  abstract init(): Promise<void>;
  abstract dispose(): void;
  /** Run the model on `n` normalised images packed in `pixels`; returns n × dim floats. */
  protected abstract run(pixels: Float32Array, n: number): Promise<Float32Array>;

  /** Preprocessing part of the cache key. */
  protected preprocessingKey(): string {
    const { width, height } = this.inputSize;
    return `${width}x${height}|fit=${this.opts.fit}|flip=${this.opts.flip ? 1 : 0}|mean=${this.norm.mean.join(',')}|std=${this.norm.std.join(',')}`;
  }

  async encode(records: MovieRecord[]): Promise<EncodeResult[]> {
    await this.init();
    const out = new Array<EncodeResult>(records.length);
    const todo: number[] = [];
    const inputs: PosterInput[] = [];
    (await posterInputs(records)).forEach((input, i) => {
      if (input instanceof ImageError) out[i] = { error: input.message };
      else if (input === null) out[i] = { error: 'no poster' };
      else {
        todo.push(i);
        inputs.push(input);
      }
    });
    const images = await loadRgbBatch(
      inputs,
      {
        size: this.inputSize,
        fit: this.opts.fit as FitMode,
        flip: this.opts.flip,
        maxPixels: this.opts.maxPixels,
      },
      this.opts.decodeConcurrency,
    );
    const good: Array<{ index: number; image: RgbImage }> = [];
    images.forEach((img, k) => {
      if (img instanceof ImageError) out[todo[k]] = { error: img.message };
      else good.push({ index: todo[k], image: img });
    });
    const vectors = await this.encodeImages(good.map((g) => g.image));
    good.forEach((g, k) => (out[g.index] = vectors[k]));
    return out;
  }

  /** Encode already decoded and resized images (inputSize), in batches of batchSize. */
  async encodeImages(images: RgbImage[]): Promise<Float32Array[]> {
    await this.init();
    const { width, height } = this.inputSize;
    const per = width * height * 3;
    const result: Float32Array[] = [];
    for (let start = 0; start < images.length; start += this.opts.batchSize) {
      const batch = images.slice(start, start + this.opts.batchSize);
      const pixels = new Float32Array(batch.length * per);
      batch.forEach((img, k) => writeNormalised(img, this.norm, this.layout, pixels, k * per));
      const flat = await this.run(pixels, batch.length);
      for (let k = 0; k < batch.length; k++) result.push(flat.slice(k * this.dim, (k + 1) * this.dim));
    }
    return result;
  }
}
