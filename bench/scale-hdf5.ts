/**
 * Writes the HDF5 twin of a synthetic MM-IMDB folder in the paper authors' layout (for
 * bench/scale.ts): the folder's ids, genres and split (rows in train, dev, test order), 300-d
 * "word2vec" and 4096-d "VGG" rows and token sequences carrying the genres, uint8 images
 * N×3×256×160 drawn per genre, written in blocks. Usage: tsx bench/scale-hdf5.ts FOLDER FILE
 */
import { loadDataset } from '../src/data/load.js';
import { multiHot } from '../src/data/genres.js';
import { writePaperLayoutHdf5 } from '../src/data/hdf5-paper-writer.js';
import { createRng } from '../src/util/random.js';

const [folder, file] = process.argv.slice(2);
const ds = await loadDataset(folder);
const byId = new Map(ds.records.map((r) => [r.id, r]));
const order = [...ds.splits.train, ...ds.splits.dev, ...ds.splits.test];
const n = order.length;
const L = ds.labels.length;
const rng = createRng(7);
const genres = new Uint8Array(n * L);
const features = new Float32Array(n * 300);
const vgg = new Float32Array(n * 4096);
const sequences: Int32Array[] = [];
const first = new Int32Array(n);
order.forEach((id, i) => {
  const hot = multiHot(byId.get(id)!.genres, ds.labels);
  genres.set(hot, i * L);
  const on = [...hot.keys()].filter((j) => hot[j]);
  first[i] = on[0] ?? 0;
  for (let d = 0; d < 300; d++) features[i * 300 + d] = rng.next() - 0.5 + (hot[d % L] ? 0.4 : 0);
  for (let d = 0; d < 4096; d++) vgg[i * 4096 + d] = Math.max(0, rng.next() - 0.6 + (hot[d % L] ? 0.3 : 0));
  const len = 40 + Math.floor(rng.next() * 160);
  sequences.push(
    Int32Array.from({ length: len }, () =>
      rng.next() < 0.3
        ? 2 + on[Math.floor(rng.next() * on.length)] * 50 + Math.floor(rng.next() * 50)
        : 2 + Math.floor(rng.next() * 20000),
    ),
  );
});
const [C, H, W] = [3, 256, 160];
await writePaperLayoutHdf5(file, {
  ids: order,
  labels: ds.labels,
  genres,
  features: { dim: 300, data: features },
  vggFeatures: { dim: 4096, data: vgg },
  sequences,
  images: {
    shape: [C, H, W],
    dtype: 'uint8',
    rows(start, stop) {
      const out = new Uint8Array((stop - start) * C * H * W);
      for (let i = start; i < stop; i++) {
        const base = (i - start) * C * H * W;
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++)
              out[base + c * H * W + y * W + x] =
                (first[i] * 11 + c * 60 + ((x + y * (1 + (first[i] % 3))) >> 2)) & 255;
      }
      return out;
    },
  },
  splitSizes: { train: ds.splits.train.length, dev: ds.splits.dev.length, test: ds.splits.test.length },
});
