/** Poster encoders and the image pipeline. */
import type { Encoder } from '../data/feature-types.js';
import { nsfwjsEncoder } from './tfjs-encoder.js';
import { onnxEncoder } from './onnx-encoder.js';
import { nsfwjsOnnxEncoder } from './nsfwjs-onnx.js';
import { clipEncoder } from './clip-encoder.js';

export * from './image.js';
export { fileSystemModelHandler, nsfwjsModelDir } from './model-files.js';
export { NsfwjsEncoder, NSFWJS_MODELS, type NsfwjsModelSpec } from './tfjs-encoder.js';
export { OnnxEncoder, onnxOptionsSchema, type OnnxEncoderOptions } from './onnx-encoder.js';
export {
  encodeOnnxModel,
  type OnnxGraph,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValue,
} from '../engine/onnx-proto.js';
export { exportNsfwjsToOnnx, layersModelToOnnx } from './onnx-export.js';
export { ClipEncoder, clipOptionsSchema, loadTransformers } from './clip-encoder.js';
export { PosterEncoder, posterOptionsSchema, type PosterOptions } from './poster-encoder.js';

/** Poster encoders by registry name; each is constructible from its name + JSON options alone. */
export const visionEncoders: Record<string, (options?: Record<string, unknown>) => Encoder> = {
  mobilenet_v2: nsfwjsEncoder('mobilenet_v2'),
  mobilenet_v2_mid: nsfwjsEncoder('mobilenet_v2_mid'),
  inception_v3: nsfwjsEncoder('inception_v3'),
  mobilenet_v2_onnx: nsfwjsOnnxEncoder('mobilenet_v2'),
  inception_v3_onnx: nsfwjsOnnxEncoder('inception_v3'),
  onnx: onnxEncoder,
  clip: clipEncoder,
};
