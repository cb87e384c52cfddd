/** Poster thumbnails as data: URIs (sharp → small JPEG), so the report carries its images inline. */
import sharp from 'sharp';
import { MAX_POSTER_PIXELS } from '../data/image-sniff.js';

export interface ThumbnailOptions {
  width?: number;
  height?: number;
  quality?: number;
}

/** A JPEG data URI of the poster, cropped to a poster's aspect; throws when the file is not a readable image. */
export async function posterThumbnail(path: string, opts: ThumbnailOptions = {}): Promise<string> {
  const jpeg = await sharp(path, { failOn: 'error', limitInputPixels: MAX_POSTER_PIXELS })
    .rotate()
    .resize({ width: opts.width ?? 96, height: opts.height ?? 142, fit: 'cover' })
    .flatten({ background: '#ffffff' })
    .jpeg({ quality: opts.quality ?? 72, mozjpeg: true })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}
