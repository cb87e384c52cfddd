/**
 * The built-in encoders as a user sees them: a readable name and one line on what each computes.
 * Kept apart from the registry (no engine is loaded to list them: `mmgenre encoders` is instant);
 * a test checks it names every built-in encoder.
 */
export interface EncoderInfo {
  /** What it reads. */
  input: 'poster' | 'plot' | 'title' | 'companies';
  /** The name shown to users (reports, listings). */
  label: string;
  description: string;
}

export const ENCODER_CATALOG: Record<string, EncoderInfo> = {
  mobilenet_v2_onnx: {
    input: 'poster',
    label: 'MobileNetV2 (onnxruntime)',
    description:
      'MobileNetV2 on onnxruntime: 1280-d pooled features or any layer (--layer); the fastest poster encoder',
  },
  mobilenet_v2: {
    input: 'poster',
    label: 'MobileNetV2 (tfjs)',
    description: 'the same MobileNetV2 on TensorFlow.js (slower; for the fine-tuned poster model)',
  },
  mobilenet_v2_mid: {
    input: 'poster',
    label: 'MobileNetV2, middle layer',
    description: 'MobileNetV2 cut at a middle layer (tfjs), for models that read mid-level poster features',
  },
  inception_v3_onnx: {
    input: 'poster',
    label: 'InceptionV3 (onnxruntime)',
    description: 'InceptionV3 on onnxruntime: 2048-d pooled features or any layer',
  },
  inception_v3: {
    input: 'poster',
    label: 'InceptionV3 (tfjs)',
    description: 'the same InceptionV3 on TensorFlow.js',
  },
  onnx: {
    input: 'poster',
    label: 'ONNX image model',
    description: 'any image model of yours as an .onnx file (--opt model=FILE)',
  },
  clip: {
    input: 'poster',
    label: 'CLIP image encoder',
    description: 'a CLIP vision model from a local folder (MMGENRE_MODELS_DIR; nothing is downloaded)',
  },
  'glove-mean': {
    input: 'plot',
    label: 'GloVe mean (plot)',
    description: 'mean of the 100-d GloVe vectors of the plot’s words',
  },
  'title-glove-mean': {
    input: 'title',
    label: 'GloVe mean (title)',
    description: 'mean of the 100-d GloVe vectors of the title’s words',
  },
  tfidf: {
    input: 'plot',
    label: 'TF-IDF (plot)',
    description: 'TF-IDF of the plot’s words over a vocabulary fitted on the training split',
  },
  'companies-multihot': {
    input: 'companies',
    label: 'production companies',
    description: 'multi-hot vector of the production companies seen in training (TMDB)',
  },
  'hdf5-vgg': {
    input: 'poster',
    label: "VGG features (authors' HDF5)",
    description: "the VGG poster features stored in the authors' multimodal_imdb.hdf5",
  },
  'hdf5-word2vec': {
    input: 'plot',
    label: "word2vec mean (authors' HDF5)",
    description: "the plot's word2vec vector stored in the authors' multimodal_imdb.hdf5",
  },
  'hdf5-three-grams': {
    input: 'plot',
    label: "character 3-grams (authors' HDF5)",
    description: "the plot's character 3-gram counts stored in the authors' multimodal_imdb.hdf5",
  },
  'hdf5-word-grams': {
    input: 'plot',
    label: "word n-grams (authors' HDF5)",
    description: "the plot's word n-gram counts stored in the authors' multimodal_imdb.hdf5",
  },
  'hdf5-sequences': {
    input: 'plot',
    label: "word ids (authors' HDF5)",
    description: "the plot as word ids from the authors' multimodal_imdb.hdf5, for the recurrent models",
  },
  'plot-sequences': {
    input: 'plot',
    label: 'plot word ids',
    description: 'the plot as a sequence of word ids, for the recurrent models (GRU, LSTM)',
  },
};
