/**
 * Encoders that read an MM-IMDB HDF5 file's own precomputed inputs as they are, so the paper's
 * models can be trained on exactly its features: `features` (mean word2vec of the plot, 300-d),
 * `vgg_features` (VGG-16 fc7 of the poster, 4096-d), `three_grams` / `word_grams` (count
 * vectors) and `sequences` (token ids in the file's vocabulary, for the recurrent models).
 * Their rows go through the feature cache like any encoder's (chunked, resumable, checksummed).
 * The file's `images` need no encoder of their own: every poster encoder reads them as posters.
 */
import type { MovieRecord } from '../data/types.js';
import { hdf5FileOf, hdf5SourceOf } from '../data/hdf5-source.js';
import {
  closeHdf5Files,
  matrixDim,
  readMatrixRows,
  readSequenceRows,
  sequenceVocabSize,
} from '../data/hdf5-rows.js';
import { MmgenreError } from '../util/errors.js';
import { registerSequenceEncoder, type SequenceEncoder } from './compute.js';
import type { EncoderFactory } from './registry.js';
import type { Encoder, Modality } from './types.js';

/** Encoder name → the file's dataset and what it describes. */
export const HDF5_MATRIX_ENCODERS: Record<
  string,
  { dataset: string; modality: Modality; what: string; paperDim?: number }
> = {
  'hdf5-word2vec': {
    dataset: 'features',
    modality: 'plot',
    what: 'mean word2vec of the plot (300-d)',
    paperDim: 300,
  },
  'hdf5-vgg': {
    dataset: 'vgg_features',
    modality: 'poster',
    what: 'VGG-16 fc7 of the poster (4096-d)',
    paperDim: 4096,
  },
  'hdf5-three-grams': {
    dataset: 'three_grams',
    modality: 'plot',
    what: "the plot's character 3-gram counts",
  },
  'hdf5-word-grams': { dataset: 'word_grams', modality: 'plot', what: "the plot's word n-gram counts" },
};
export const HDF5_SEQUENCE_ENCODER = 'hdf5-sequences';

/** Every encoder that reads an HDF5 file's own rows (the plot-side ones need such a file). */
export function isHdf5Encoder(name: string): boolean {
  return name in HDF5_MATRIX_ENCODERS || name === HDF5_SEQUENCE_ENCODER;
}

function notFromFile(name: string): { error: string } {
  return { error: `${name} reads MM-IMDB HDF5 rows, and this movie does not come from an HDF5 file` };
}

/** Positions of `records` that come from an HDF5 file, grouped by file. */
function byFile(records: MovieRecord[]): Map<string, Array<{ k: number; index: number }>> {
  const groups = new Map<string, Array<{ k: number; index: number }>>();
  records.forEach((r, k) => {
    const s = hdf5SourceOf(r);
    if (!s) return;
    const g = groups.get(s.file) ?? [];
    g.push({ k, index: s.index });
    groups.set(s.file, g);
  });
  return groups;
}

class Hdf5MatrixEncoder implements Encoder {
  readonly modality: Modality;
  readonly key: string;
  dim = 0;
  readonly rowShape: number[] = [];
  readonly inProcess = true;
  private file: string | null = null;

  constructor(
    readonly name: string,
    private readonly dataset: string,
    modality: Modality,
    paperDim = 0,
  ) {
    this.modality = modality;
    // The width in the paper's file until a file is bound (diagrams of a config need a size).
    this.dim = paperDim;
    if (paperDim) this.rowShape.push(paperDim);
    // The file's identity (size, mtime) is in every row's source stamp; the key names the dataset read.
    this.key = `hdf5-rows|${dataset}|v1`;
  }

  bindRecords(records: readonly MovieRecord[]): void {
    this.file = hdf5FileOf(records);
    if (!this.file)
      throw new MmgenreError(
        'input',
        `encoder '${this.name}' reads the '${this.dataset}' rows of an MM-IMDB HDF5 file, and this dataset is not one`,
        {
          hint: 'pass --data multimodal_imdb.hdf5 (the paper authors\u2019 file), or use a text/poster encoder',
        },
      );
  }

  private boundDim = false;

  async init(): Promise<void> {
    if (this.file && !this.boundDim) {
      this.boundDim = true;
      this.dim = await matrixDim(this.file, this.dataset);
      this.rowShape.splice(0, this.rowShape.length, this.dim);
    }
  }

  async encode(records: MovieRecord[]): Promise<Array<Float32Array | { error: string }>> {
    const out = records.map(() => notFromFile(this.name) as Float32Array | { error: string });
    for (const [file, group] of byFile(records)) {
      const { rows } = await readMatrixRows(
        file,
        this.dataset,
        group.map((g) => g.index),
      );
      group.forEach((g, j) => {
        const row = rows[j];
        // make_dataset.py stores numpy's mean of no vectors (NaN) for a plot with no word in word2vec.
        out[g.k] = row.some((v) => !Number.isFinite(v))
          ? { error: `'${this.dataset}' row ${g.index} holds NaN (no known word in the plot)` }
          : row;
      });
    }
    return out;
  }

  dispose(): void {
    closeHdf5Files();
  }
}

/** Token ids from the file's `sequences` (the paper's vocabulary), cut at `maxLen` when given. */
export function hdf5SequenceEncoder(options: Record<string, unknown> = {}): SequenceEncoder {
  const maxLen = options.maxLen === undefined ? 0 : Number(options.maxLen);
  if (!Number.isInteger(maxLen) || maxLen < 0)
    throw new MmgenreError('config', `${HDF5_SEQUENCE_ENCODER}: maxLen must be a positive integer`);
  let file: string | null = null;
  const enc: SequenceEncoder & { bindRecords(records: readonly MovieRecord[]): void } = {
    name: HDF5_SEQUENCE_ENCODER,
    key: `hdf5-rows|sequences|maxLen=${maxLen}|v1`,
    vocabSize: 0,
    inProcess: true,
    bindRecords(records) {
      file = hdf5FileOf(records);
      if (!file)
        throw new MmgenreError(
          'input',
          `encoder '${HDF5_SEQUENCE_ENCODER}' reads the 'sequences' of an MM-IMDB HDF5 file, and this dataset is not one`,
        );
    },
    async init() {
      if (file && enc.vocabSize === 0) enc.vocabSize = await sequenceVocabSize(file);
    },
    async encode(records) {
      const out = records.map(() => notFromFile(HDF5_SEQUENCE_ENCODER) as Int32Array | { error: string });
      for (const [f, group] of byFile(records)) {
        const rows = await readSequenceRows(
          f,
          group.map((g) => g.index),
        );
        group.forEach((g, j) => {
          const s = maxLen > 0 ? rows[j].subarray(0, maxLen).slice() : rows[j];
          out[g.k] = s.length ? s : { error: `'sequences' row ${g.index} is empty` };
        });
      }
      return out;
    },
    dispose() {
      closeHdf5Files();
    },
  };
  return enc;
}

registerSequenceEncoder(HDF5_SEQUENCE_ENCODER, hdf5SequenceEncoder);

export const hdf5Encoders: Record<string, EncoderFactory> = Object.fromEntries(
  Object.entries(HDF5_MATRIX_ENCODERS).map(([name, d]) => [
    name,
    () => new Hdf5MatrixEncoder(name, d.dataset, d.modality, d.paperDim),
  ]),
);
