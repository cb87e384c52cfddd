/**
 * Poster encoders on the CNNs that ship inside the npm package nsfwjs, run with TensorFlow.js.
 *
 * Honesty note: these networks were initialised from ImageNet and then fine-tuned by the nsfwjs
 * authors for another task (5-class NSFW classification). Their features are less general than
 * pure ImageNet ones, but they are the best CNN weights that install offline from npm. Users with
 * better weights on disk can use the 'onnx' (or 'clip') encoder instead.
 *
 * Preprocessing follows nsfwjs itself (core.js `infer`): RGB divided by 255 (range [0, 1]),
 * resized to 224 px (299 px for InceptionV3); nsfwjs trained its heads on that input.
 */
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import {
  loadLayersModel,
  model as functionalModel,
  type LayersModel,
  type SymbolicTensor,
} from '@tensorflow/tfjs-layers';
import { initEngine } from '../engine/index.js';
import { UNIT_RANGE, type Normalisation, type TensorLayout } from './image.js';
import { fileSystemModelHandler, nsfwjsModelDir, nsfwjsVersion } from './model-files.js';
import { PosterEncoder, parseOptions, posterOptionsSchema, type PosterOptions } from './poster-encoder.js';

/** Bumped when this module's preprocessing or truncation changes (invalidates cached features). */
const CODE_VERSION = 1;

export interface NsfwjsModelSpec {
  /** Folder under nsfwjs/dist/models. */
  dir: string;
  kind: 'layers' | 'graph';
  inputSize: number;
  /** The layer (layers model) or graph node (graph model) just before the classifier head. */
  pooledOutput: string;
  pooledDim: number;
}

/** The prefix of every MobileNetV2 node in nsfwjs's graph model (a TF-Hub feature-vector module). */
const MID_PREFIX =
  'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/';

export const NSFWJS_MODELS: Record<string, NsfwjsModelSpec> = {
  // Keras MobileNetV2 (alpha 1.0): out_relu (7×7×1280) → AveragePooling2D 7×7 → flatten_1 → dense head.
  mobilenet_v2: {
    dir: 'mobilenet_v2',
    kind: 'layers',
    inputSize: 224,
    pooledOutput: 'flatten_1',
    pooledDim: 1280,
  },
  // TF-Hub MobileNetV2 1.4 feature vector: Conv_1 (7×7×1792) → AvgPool → SpatialSqueeze → dense head.
  mobilenet_v2_mid: {
    dir: 'mobilenet_v2_mid',
    kind: 'graph',
    inputSize: 224,
    pooledOutput: `${MID_PREFIX}feature_vector/SpatialSqueeze`,
    pooledDim: 1792,
  },
  // Keras InceptionV3: mixed10 (8×8×2048) → AveragePooling2D 8×8 → flatten_1 → dense head.
  inception_v3: {
    dir: 'inception_v3',
    kind: 'layers',
    inputSize: 299,
    pooledOutput: 'flatten_1',
    pooledDim: 2048,
  },
};

const tfjsOptionsSchema = posterOptionsSchema.extend({
  /** TensorFlow.js backend; 'cpu' is the slow plain-JS reference. */
  backend: z.enum(['wasm', 'cpu']).default('wasm'),
});
type TfjsOptions = PosterOptions & { backend: 'wasm' | 'cpu' };

export class NsfwjsEncoder extends PosterEncoder {
  key = '';
  dim: number;
  rowShape: number[];
  protected readonly inputSize: { width: number; height: number };
  protected readonly norm: Normalisation = UNIT_RANGE;
  protected readonly layout: TensorLayout = 'NHWC';
  private readonly spec: NsfwjsModelSpec;
  private readonly output: string;
  private loading: Promise<void> | null = null;
  private layers: LayersModel | null = null;
  private truncated: LayersModel | null = null;
  private graph: GraphModel | null = null;

  constructor(
    readonly name: string,
    protected override readonly opts: TfjsOptions,
  ) {
    super(opts);
    const spec = NSFWJS_MODELS[name];
    if (!spec)
      throw new Error(`unknown nsfwjs model '${name}' (known: ${Object.keys(NSFWJS_MODELS).join(', ')})`);
    this.spec = spec;
    this.inputSize = { width: spec.inputSize, height: spec.inputSize };
    this.output = opts.layer ?? spec.pooledOutput;
    this.dim = opts.layer ? 0 : spec.pooledDim;
    this.rowShape = opts.layer ? [] : [spec.pooledDim];
    // A layers model's output name is known without loading it, so the feature cache can find an
    // entry (and a no-op run can finish) without reading the weights. Graph models resolve it on load.
    if (spec.kind === 'layers') this.key = this.cacheKey(this.output);
  }

  private cacheKey(outputName: string): string {
    return [
      this.name,
      `nsfwjs@${nsfwjsVersion()}`,
      `out=${outputName}`,
      this.preprocessingKey(),
      `v${CODE_VERSION}`,
    ].join('|');
  }

  init(): Promise<void> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = null;
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    await initEngine({ backend: this.opts.backend });
    // Read the files once; the artifacts also give the graph's node names.
    const artifacts = await fileSystemModelHandler(nsfwjsModelDir(this.spec.dir)).load();
    const handler = { load: async () => artifacts };
    let outputName = this.output;
    if (this.spec.kind === 'layers') {
      this.layers = await loadLayersModel(handler);
      const names = this.layers.layers.map((l) => l.name);
      if (!names.includes(this.output))
        throw new Error(`'${this.name}' has no layer '${this.output}'; layers: ${names.join(', ')}`);
      const layer = this.layers.getLayer(this.output);
      this.truncated = functionalModel({
        inputs: this.layers.inputs,
        outputs: layer.output as SymbolicTensor,
      });
      this.rowShape = (layer.outputShape as Array<number | null>).slice(1) as number[];
    } else {
      this.graph = await loadGraphModel(handler);
      outputName = resolveGraphNode(artifacts.modelTopology, this.output);
      this.graphOutput = outputName;
      // The graph model has no static shapes for internal nodes: run a blank image once.
      const graph = this.graph;
      const s = this.spec.inputSize;
      const probe = tf.tidy(() => graph.execute(tf.zeros([1, s, s, 3]), outputName) as tf.Tensor);
      this.rowShape = probe.shape.slice(1);
      probe.dispose();
    }
    this.dim = this.rowShape.reduce((a, b) => a * b, 1);
    this.key = this.cacheKey(outputName);
  }

  private graphOutput = '';

  protected async run(pixels: Float32Array, n: number): Promise<Float32Array> {
    const s = this.spec.inputSize;
    const y = tf.tidy(() => {
      const x = tf.tensor4d(pixels, [n, s, s, 3]);
      if (this.truncated) return this.truncated.predict(x) as tf.Tensor;
      return this.graph!.execute(x, this.graphOutput) as tf.Tensor;
    });
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  }

  dispose(): void {
    // The truncated model shares the base model's layers: disposing the base frees the weights.
    this.layers?.dispose();
    this.graph?.dispose();
    this.layers = this.truncated = this.graph = null;
    this.loading = null;
  }
}

/**
 * A graph node by full name or by the part after the MobileNetV2 prefix
 * (e.g. 'MobilenetV2/expanded_conv_15/add').
 */
function resolveGraphNode(modelTopology: unknown, wanted: string): string {
  const topology = modelTopology as { node?: Array<{ name: string }> } | undefined;
  const names = (topology?.node ?? []).map((n) => n.name);
  if (names.includes(wanted)) return wanted;
  const matches = names.filter((n) => n.endsWith(`/${wanted}`));
  if (matches.length === 1) return matches[0];
  throw new Error(
    `graph node '${wanted}' ${matches.length > 1 ? 'is ambiguous' : 'not found'} in mobilenet_v2_mid (e.g. 'MobilenetV2/expanded_conv_15/add', 'MobilenetV2/Conv_1/Relu6')`,
  );
}

/** Factory: parse JSON options and build the encoder (no loading until init()). */
export function nsfwjsEncoder(name: string) {
  return (options?: Record<string, unknown>): NsfwjsEncoder =>
    new NsfwjsEncoder(name, parseOptions(tfjsOptionsSchema, name, options) as TfjsOptions);
}
