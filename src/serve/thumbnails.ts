/** Poster thumbnails for the movie browser: resized once with sharp, kept in a small LRU. */
import sharp from 'sharp';
import { MAX_POSTER_PIXELS } from '../data/image-sniff.js';
import { readRegularFile } from '../util/regular-file.js';

export class ThumbnailCache {
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly width = 185,
    private readonly capacity = 600,
  ) {}

  /** JPEG bytes of the thumbnail of the image at `path` (throws if it cannot be decoded). */
  async get(path: string): Promise<Buffer> {
    const hit = this.cache.get(path);
    if (hit) {
      // Re-insert: Map keeps insertion order, so the oldest entry is the least recently used.
      this.cache.delete(path);
      this.cache.set(path, hit);
      return hit;
    }
    // Read here, regular files only: libvips opening a named pipe would block a pool thread forever.
    const bytes = await readRegularFile(path);
    const jpeg = await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_POSTER_PIXELS })
      .rotate()
      .resize({ width: this.width, height: Math.round(this.width * 1.48), fit: 'cover' })
      .jpeg({ quality: 78 })
      .toBuffer();
    this.cache.set(path, jpeg);
    if (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value as string);
    return jpeg;
  }
}
