/**
 * The poster image pipeline: decode any common format with sharp (libvips), bring it to 3-channel
 * sRGB, honour EXIF orientation, resize to an encoder's input and normalise it the way that
 * encoder was trained. Bad files become a typed ImageError so callers record a per-record error.
 */
import sharp from 'sharp';
import { explainDecodeFailure } from '../data/image-sniff.js';
import { hdf5SourceOf } from '../data/hdf5-source.js';
import type { MovieRecord } from '../data/types.js';

export type FitMode = 'crop' | 'pad';
export type TensorLayout = 'NHWC' | 'NCHW';

/** Why an image could not be used; `kind` lets callers map it to a RecordIssue kind. */
export type ImageErrorKind = 'missing' | 'corrupt' | 'too-large' | 'unsupported';

export class ImageError extends Error {
  constructor(
    readonly kind: ImageErrorKind,
    message: string,
    readonly source?: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }
}

/** Default pixel limit: a poster is ~0.2 MP; 40 MP leaves room for scans yet refuses decompression bombs. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

export interface ImagePrepOptions {
  /** Output width and height in pixels (square inputs: a single number). */
  size: number | { width: number; height: number };
  /** 'crop' (default, as in the paper): fill the input, centre-crop the overflow; 'pad': keep all, letterbox. */
  fit?: FitMode;
  /** Mirror horizontally (augmentation). */
  flip?: boolean;
  /** Refuse inputs with more pixels than this (width × height). */
  maxPixels?: number;
  /** Colour for padding and for flattening transparency; default black. */
  background?: { r: number; g: number; b: number };
}

/** Decoded RGB pixels (interleaved HWC bytes) at their own size, e.g. a row of an HDF5 file's `images`. */
export interface RawRgb {
  width: number;
  height: number;
  data: Uint8Array;
  raw: true;
}

/** What a poster can be read from: a path, the file's bytes, or decoded pixels. */
export type PosterInput = string | Buffer | RawRgb;

function isRawRgb(x: PosterInput): x is RawRgb {
  return typeof x === 'object' && !Buffer.isBuffer(x) && (x as RawRgb).raw === true;
}

/**
 * Where each record's poster comes from: its file, the row of the HDF5 file it was loaded from
 * (`images`), or null (no poster). Rows that cannot be read become ImageErrors.
 */
export async function posterInputs(
  records: readonly MovieRecord[],
): Promise<Array<PosterInput | ImageError | null>> {
  const out: Array<PosterInput | ImageError | null> = records.map((r) => r.posterPath);
  const fromFile = records.flatMap((r, k) => {
    const s = r.posterPath ? null : hdf5SourceOf(r);
    return s ? [{ k, ...s }] : [];
  });
  if (fromFile.length === 0) return out;
  // Loaded only for HDF5 data: the HDF5 library is not needed to read image files.
  const { readImage } = await import('../data/hdf5-rows.js');
  for (const { k, file, index } of fromFile) {
    try {
      out[k] = { ...(await readImage(file, index)), raw: true };
    } catch (err) {
      out[k] = new ImageError(
        'missing',
        `${file}: row ${index} of 'images' unreadable (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  return out;
}

/** A decoded, resized RGB image: interleaved HWC bytes. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

function dims(size: ImagePrepOptions['size']): { width: number; height: number } {
  return typeof size === 'number' ? { width: size, height: size } : size;
}

/**
 * Decode `input` (a path or the file's bytes) into `size` RGB bytes.
 * Throws ImageError for missing, corrupt, truncated, unsupported or oversized images.
 */
export async function loadRgb(input: PosterInput, opts: ImagePrepOptions): Promise<RgbImage> {
  const { width, height } = dims(opts.size);
  const background = opts.background ?? { r: 0, g: 0, b: 0 };
  const source = typeof input === 'string' ? input : undefined;
  try {
    // failOn 'error' rejects truncated/corrupt data instead of returning a half-grey image;
    // pages: 1 takes the first frame of an animated GIF/WebP. Decoded pixels (an HDF5 file's
    // `images`) go through the same resize and crop as a decoded JPEG.
    let img = (
      isRawRgb(input)
        ? sharp(Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength), {
            raw: { width: input.width, height: input.height, channels: 3 },
            limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
          })
        : sharp(input, {
            limitInputPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
            failOn: 'error',
            pages: 1,
          })
    )
      .rotate() // EXIF orientation
      .toColourspace('srgb') // CMYK (with its ICC profile) and greyscale → sRGB
      .flatten({ background })
      .resize(width, height, {
        fit: opts.fit === 'pad' ? 'contain' : 'cover',
        position: 'centre',
        background,
      });
    if (opts.flip) img = img.flop();
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) {
      throw new ImageError(
        'unsupported',
        `decoded to ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×3`,
        source,
      );
    }
    return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw toImageError(err, source);
  }
}

function toImageError(err: unknown, source: string | undefined): ImageError {
  if (err instanceof ImageError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const where = source ? `${source}: ` : '';
  if (/ENOENT|no such file|Input file is missing/i.test(msg))
    return new ImageError('missing', `${where}image file not found`, source);
  if (/pixel limit/i.test(msg))
    return new ImageError('too-large', `${where}image exceeds the pixel limit (${msg})`, source);
  if (/unsupported image format/i.test(msg))
    return new ImageError('unsupported', `${where}not a supported image format`, source);
  const why = explainDecodeFailure(msg.split('\n')[0], source);
  return new ImageError('corrupt', `${where}corrupt or truncated image (${why})`, source);
}

/** How an encoder wants its pixels: x' = (x / 255 - mean[c]) / std[c]. */
export interface Normalisation {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Pixels scaled to [0, 1] (nsfwjs's preprocessing: divide by 255). */
export const UNIT_RANGE: Normalisation = { mean: [0, 0, 0], std: [1, 1, 1] };
/** torchvision's ImageNet statistics, for most ONNX exports of ImageNet models. */
export const IMAGENET_NORM: Normalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * Write normalised floats of `img` into `out` at `offset` (one batch slot), in `layout`.
 * Hand-written: it is the inner loop of batching, a single pass with no intermediate tensors.
 */
export function writeNormalised(
  img: RgbImage,
  norm: Normalisation,
  layout: TensorLayout,
  out: Float32Array,
  offset = 0,
): void {
  const n = img.width * img.height;
  const scale = norm.std.map((s) => 1 / (255 * s));
  const shift = norm.mean.map((m, c) => m / norm.std[c]);
  const src = img.data;
  if (layout === 'NHWC') {
    for (let i = 0; i < n; i++) {
      const p = 3 * i;
      out[offset + p] = src[p] * scale[0] - shift[0];
      out[offset + p + 1] = src[p + 1] * scale[1] - shift[1];
      out[offset + p + 2] = src[p + 2] * scale[2] - shift[2];
    }
  } else {
    for (let c = 0; c < 3; c++) {
      const base = offset + c * n;
      for (let i = 0; i < n; i++) out[base + i] = src[3 * i + c] * scale[c] - shift[c];
    }
  }
}

/**
 * Decode many images with at most `concurrency` in flight (sharp works off the JS thread,
 * so a few in parallel keep libvips busy while the model runs). Order is preserved;
 * each slot holds the image or the ImageError it raised.
 */
export async function loadRgbBatch(
  inputs: PosterInput[],
  opts: ImagePrepOptions,
  concurrency = 4,
): Promise<Array<RgbImage | ImageError>> {
  const results = new Array<RgbImage | ImageError>(inputs.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < inputs.length) {
      const i = next++;
      try {
        results[i] = await loadRgb(inputs[i], opts);
      } catch (err) {
        const input = inputs[i];
        results[i] = toImageError(err, typeof input === 'string' ? input : undefined);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, inputs.length)) }, worker));
  return results;
}
