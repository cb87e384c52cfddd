import * as tf from '@tensorflow/tfjs-core';
import { addMissingKernel, makeTensor, required, type DataBackend } from './kernel-override.js';

/**
 * tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which is the gradient of Gather, so an
 * Embedding layer cannot train on wasm. The cpu backend's version loops over every segment
 * (O(numSegments · n), hopeless for a 20k-word vocabulary); this is a direct scatter-add in one
 * pass over the data. Written by hand because no kernel library offers it for this backend.
 * Segment ids outside [0, numSegments) are dropped, as TensorFlow does.
 */
export function installUnsortedSegmentSum(backendName = 'wasm'): string[] {
  return addMissingKernel(tf.UnsortedSegmentSum, backendName, unsortedSegmentSum)
    ? [tf.UnsortedSegmentSum]
    : [];
}

const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as DataBackend;
  const { x, segmentIds } = required(inputs, 'x', 'segmentIds');
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const idCount = tf.util.sizeFromShape(segmentIds.shape);
  const rowShape = x.shape.slice(segmentIds.shape.length);
  const rowSize = tf.util.sizeFromShape(rowShape);
  const values = backend.readSync(x.dataId) as tf.TypedArray;
  const ids = backend.readSync(segmentIds.dataId) as tf.TypedArray;
  const out =
    x.dtype === 'int32' ? new Int32Array(numSegments * rowSize) : new Float32Array(numSegments * rowSize);
  for (let i = 0; i < idCount; i++) {
    const segment = ids[i];
    if (segment < 0 || segment >= numSegments) continue;
    const src = i * rowSize;
    const dst = segment * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j] += values[src + j];
  }
  return makeTensor(backend, [numSegments, ...rowShape], x.dtype, out);
};
