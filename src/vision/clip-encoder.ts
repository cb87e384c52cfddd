/**
 * CLIP image tower through transformers.js, for users who have a CLIP model.
 *
 * @huggingface/transformers is an optional peer, loaded by dynamic import: it is not a dependency
 * because its current release requires sharp ^0.35 (mmgenre uses 0.34) and pulls onnxruntime-web.
 * Install it yourself (`npm install @huggingface/transformers`) and either
 * - put a converted model under env.localModelPath (MMGENRE_MODELS_DIR, default
 *   ~/.cache/mmgenre/models), e.g. `git clone https://huggingface.co/Xenova/clip-vit-base-patch32`
 *   into that folder, or
 * - allow downloads from the Hugging Face hub with MMGENRE_ALLOW_REMOTE_MODELS=1.
 * Offline is the default. Posters go through mmgenre's own decoder (so bad files give the usual
 * per-record errors), then through CLIP's processor (its resize, crop and normalisation).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { MovieRecord } from '../data/types.js';
import type { Encoder } from '../data/feature-types.js';
import { env } from '../env.js';
import { MmgenreError } from '../util/errors.js';
import { ImageError, loadRgbBatch, posterInputs, type PosterInput } from './image.js';
import { parseOptions, posterOptionsSchema, type EncodeResult } from './poster-encoder.js';

const PACKAGE = '@huggingface/transformers';

export const clipOptionsSchema = posterOptionsSchema.extend({
  model: z.string().min(1).default('Xenova/clip-vit-base-patch32'),
  /** Decode size before CLIP's own processor (it resizes to its input, 224 for ViT-B/32). */
  decodeSize: z.number().int().positive().default(256),
});
type ClipOptions = z.infer<typeof clipOptionsSchema>;

/* eslint-disable @typescript-eslint/no-explicit-any -- the optional package is untyped here. */
type Transformers = any;

/** Import transformers.js, or explain how to get it. */
export async function loadTransformers(): Promise<Transformers> {
  try {
    const name = PACKAGE; // a variable: TypeScript must not try to resolve the optional package
    return await import(name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new MmgenreError(
      'prerequisite',
      `the 'clip' encoder needs ${PACKAGE}, which is not installed: run \`npm install ${PACKAGE}\` ` +
        `and put a CLIP model (e.g. Xenova/clip-vit-base-patch32) under ${env.localModelPath}`,
    );
  }
}

export class ClipEncoder implements Encoder {
  readonly name = 'clip';
  readonly modality = 'poster' as const;
  key = '';
  dim = 0;
  rowShape: number[] = [];
  private processor: any = null;
  private model: any = null;
  private tx: Transformers = null;
  private loading: Promise<void> | null = null;

  constructor(private readonly opts: ClipOptions) {}

  init(): Promise<void> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const local = join(env.localModelPath, this.opts.model);
    if (!env.allowRemoteModels && !existsSync(local)) {
      throw new MmgenreError(
        'prerequisite',
        `CLIP model '${this.opts.model}' not found under ${env.localModelPath}; put it there ` +
          `(e.g. git clone https://huggingface.co/${this.opts.model} ${local}) ` +
          `or set MMGENRE_ALLOW_REMOTE_MODELS=1 to download it`,
      );
    }
    this.tx = await loadTransformers();
    this.tx.env.allowRemoteModels = env.allowRemoteModels;
    this.tx.env.allowLocalModels = true;
    this.tx.env.localModelPath = env.localModelPath;
    this.processor = await this.tx.AutoProcessor.from_pretrained(this.opts.model);
    this.model = await this.tx.CLIPVisionModelWithProjection.from_pretrained(this.opts.model);
    const [probe] = await this.embed([{ data: new Uint8Array(3 * 32 * 32), width: 32, height: 32 }]);
    this.dim = probe.length;
    this.rowShape = [this.dim];
    this.key = `clip|${this.opts.model}|decode=${this.opts.decodeSize}|fit=${this.opts.fit}|flip=${this.opts.flip ? 1 : 0}|v1`;
  }

  private async embed(
    images: Array<{ data: Uint8Array; width: number; height: number }>,
  ): Promise<Float32Array[]> {
    const raw = images.map((im) => new this.tx.RawImage(im.data, im.width, im.height, 3));
    const inputs = await this.processor(raw);
    const { image_embeds } = await this.model(inputs);
    const [n, d] = image_embeds.dims as number[];
    const flat = image_embeds.data as Float32Array;
    return Array.from({ length: n }, (_, k) => flat.slice(k * d, (k + 1) * d));
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
        size: this.opts.decodeSize,
        fit: this.opts.fit,
        flip: this.opts.flip,
        maxPixels: this.opts.maxPixels,
      },
      this.opts.decodeConcurrency,
    );
    const good = images.flatMap((im, k) => {
      if (im instanceof ImageError) {
        out[todo[k]] = { error: im.message };
        return [];
      }
      return [{ index: todo[k], im }];
    });
    for (let s = 0; s < good.length; s += this.opts.batchSize) {
      const batch = good.slice(s, s + this.opts.batchSize);
      const vecs = await this.embed(batch.map((g) => g.im));
      batch.forEach((g, k) => (out[g.index] = vecs[k]));
    }
    return out;
  }

  dispose(): void {
    void this.model?.dispose?.();
    this.model = this.processor = null;
    this.loading = null;
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export function clipEncoder(options?: Record<string, unknown>): ClipEncoder {
  return new ClipEncoder(parseOptions(clipOptionsSchema, 'clip', options));
}
