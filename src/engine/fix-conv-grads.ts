import * as tf from '@tensorflow/tfjs-core';
import {
  addMissingKernel,
  callKernel,
  overrideKernel,
  makeTensor,
  required,
  type DataBackend,
  type KernelFunc,
} from './kernel-override.js';

/**
 * Convolution gradients for tfjs-backend-wasm 4.22, which lacks Conv2DBackpropFilter and both
 * depthwise backprop kernels (so no convolution can be fine-tuned on wasm). Written by hand on
 * typed arrays because no library provides them for this backend; the heavy parts run through
 * the backend's fast matmul:
 *  - a 1×1 stride-1 convolution is a matmul over the flattened pixels, in both directions;
 *  - Conv2DBackpropFilter in general is im2col (JS) followed by one matmul (wasm, XNNPACK);
 *  - the depthwise gradients are plain loops: their cost is O(pixels · channels · kernel), tiny
 *    next to the pointwise convolutions around them in MobileNetV2.
 * Only NHWC ('channelsLast'), the layout tfjs-layers uses, is supported; NCHW throws.
 */
export function installConvGradients(backendName = 'wasm'): string[] {
  const installed: string[] = [];
  if (addMissingKernel(tf.Conv2DBackpropFilter, backendName, conv2DBackpropFilter))
    installed.push(tf.Conv2DBackpropFilter);
  if (tf.getKernel(tf.Conv2DBackpropInput, backendName)) {
    overrideKernel(tf.Conv2DBackpropInput, backendName, (previous) =>
      conv2DBackpropInputPointwiseFast(previous!),
    );
    installed.push(`${tf.Conv2DBackpropInput}(1x1-matmul)`);
  } else if (addMissingKernel(tf.Conv2DBackpropInput, backendName, conv2DBackpropInputGeneral)) {
    installed.push(tf.Conv2DBackpropInput);
  }
  if (addMissingKernel(tf.DepthwiseConv2dNativeBackpropFilter, backendName, depthwiseBackpropFilter))
    installed.push(tf.DepthwiseConv2dNativeBackpropFilter);
  if (addMissingKernel(tf.DepthwiseConv2dNativeBackpropInput, backendName, depthwiseBackpropInput))
    installed.push(tf.DepthwiseConv2dNativeBackpropInput);
  return installed;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

function assertNHWC(dataFormat: string | undefined, kernel: string): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC')
    throw new Error(`${kernel} on wasm (mmgenre engine fix) supports NHWC only, got ${dataFormat}`);
}

function convInfo(
  xShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: Pad,
  roundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    roundingMode,
    depthwise,
  );
}

/** 1×1, stride 1, dilation 1: every output pixel sees exactly its input pixel, so no padding matters. */
function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 1 &&
    info.filterWidth === 1 &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth
  );
}

/** The same data seen with another shape (the wasm kernels look data up by dataId only). */
function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function matMul(
  backend: DataBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  return callKernel(tf.BatchMatMul, backend, { a, b }, { transposeA, transposeB });
}

const conv2DBackpropFilter: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as DataBackend;
  const { x, dy } = required(inputs, 'x', 'dy');
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  assertNHWC(dataFormat, tf.Conv2DBackpropFilter);
  const info = convInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false);
  const { batchSize, outHeight, outWidth, inChannels, outChannels } = info;
  const rows = batchSize * outHeight * outWidth;
  if (isPointwise(info)) {
    // dW = Xᵀ · dY over all pixels.
    const out = matMul(backend, view(x, [rows, inChannels]), view(dy, [rows, outChannels]), true, false);
    out.shape = [...filterShape];
    return out;
  }
  // im2col, chunked over the batch so the patch matrix stays ≤ ~16M floats.
  const { filterHeight, filterWidth, strideHeight, strideWidth, inHeight, inWidth } = info;
  const { top, left } = info.padInfo;
  const k = filterHeight * filterWidth * inChannels;
  const pixelsPerImage = outHeight * outWidth;
  const imagesPerChunk = Math.max(1, Math.floor(16_000_000 / (k * pixelsPerImage)));
  const xValues = backend.readSync(x.dataId) as Float32Array;
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const total = new Float32Array(k * outChannels);
  for (let b0 = 0; b0 < batchSize; b0 += imagesPerChunk) {
    const b1 = Math.min(batchSize, b0 + imagesPerChunk);
    const chunkRows = (b1 - b0) * pixelsPerImage;
    const patches = new Float32Array(k * chunkRows); // [k, chunkRows]: no transpose needed later
    let r = 0;
    for (let b = b0; b < b1; b++) {
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++, r++) {
          for (let fh = 0; fh < filterHeight; fh++) {
            const ih = oh * strideHeight - top + fh;
            if (ih < 0 || ih >= inHeight) continue;
            for (let fw = 0; fw < filterWidth; fw++) {
              const iw = ow * strideWidth - left + fw;
              if (iw < 0 || iw >= inWidth) continue;
              const src = ((b * inHeight + ih) * inWidth + iw) * inChannels;
              const kBase = (fh * filterWidth + fw) * inChannels;
              for (let c = 0; c < inChannels; c++) patches[(kBase + c) * chunkRows + r] = xValues[src + c];
            }
          }
        }
      }
    }
    const a = makeTensor(backend, [k, chunkRows], 'float32', patches);
    const dyChunk = dyValues.subarray(b0 * pixelsPerImage * outChannels, b1 * pixelsPerImage * outChannels);
    const bInfo = makeTensor(backend, [chunkRows, outChannels], 'float32', dyChunk);
    const product = matMul(backend, a, bInfo, false, false);
    const part = backend.readSync(product.dataId) as Float32Array;
    for (let i = 0; i < total.length; i++) total[i] += part[i];
    for (const t of [a, bInfo, product]) backend.disposeData(t.dataId);
  }
  return makeTensor(backend, [...filterShape], 'float32', total);
};

/** Wraps the backend's own Conv2DBackpropInput: 1×1 stride-1 cases become dX = dY · Wᵀ. */
function conv2DBackpropInputPointwiseFast(general: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as DataBackend;
    const { dy, filter } = required(args.inputs, 'dy', 'filter');
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
      args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (dataFormat !== undefined && dataFormat !== 'NHWC') return general(args);
    const info = convInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false);
    if (!isPointwise(info)) return general(args);
    const rows = info.batchSize * info.outHeight * info.outWidth;
    const out = matMul(
      backend,
      view(dy, [rows, info.outChannels]),
      view(filter, [info.inChannels, info.outChannels]),
      false,
      true,
    );
    out.shape = [...inputShape];
    return out;
  };
}

/** Direct scatter loop, used only where a backend has no Conv2DBackpropInput at all. */
const conv2DBackpropInputGeneral: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as DataBackend;
  const { dy, filter } = required(inputs, 'dy', 'filter');
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  assertNHWC(dataFormat, tf.Conv2DBackpropInput);
  const info = convInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const w = backend.readSync(filter.dataId) as Float32Array;
  const dx = new Float32Array(batchSize * inHeight * inWidth * inChannels);
  for (let b = 0; b < batchSize; b++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight - top + fh;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth - left + fw;
            if (iw < 0 || iw >= inWidth) continue;
            const dxBase = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (fh * filterWidth + fw) * inChannels * outChannels;
            for (let c = 0; c < inChannels; c++) {
              let acc = 0;
              const wRow = wBase + c * outChannels;
              for (let o = 0; o < outChannels; o++) acc += dyValues[dyBase + o] * w[wRow + o];
              dx[dxBase + c] += acc;
            }
          }
        }
      }
  return makeTensor(backend, [...inputShape], 'float32', dx);
};

const depthwiseBackpropFilter: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as DataBackend;
  const { x, dy } = required(inputs, 'x', 'dy');
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = convInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const multiplier = outChannels / inChannels;
  const xValues = backend.readSync(x.dataId) as Float32Array;
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const dw = new Float32Array(filterHeight * filterWidth * outChannels); // [fh, fw, inC, mult] flattened
  for (let b = 0; b < batchSize; b++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight - top + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth - left + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const xBase = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (fh * filterWidth + fw) * outChannels;
            for (let c = 0; c < inChannels; c++) {
              const xv = xValues[xBase + c];
              for (let m = 0; m < multiplier; m++) {
                const o = c * multiplier + m;
                dw[wBase + o] += xv * dyValues[dyBase + o];
              }
            }
          }
        }
      }
  return makeTensor(backend, [...filterShape], 'float32', dw);
};

const depthwiseBackpropInput: KernelFunc = ({ inputs, backend: anyBackend, attrs }) => {
  const backend = anyBackend as DataBackend;
  const { dy, filter } = required(inputs, 'dy', 'filter');
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = convInfo(inputShape, filter.shape, strides, dilations, pad, dimRoundingMode, true);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const multiplier = outChannels / inChannels;
  const dyValues = backend.readSync(dy.dataId) as Float32Array;
  const w = backend.readSync(filter.dataId) as Float32Array;
  const dx = new Float32Array(batchSize * inHeight * inWidth * inChannels);
  for (let b = 0; b < batchSize; b++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((b * outHeight + oh) * outWidth + ow) * outChannels;
        for (let fh = 0; fh < filterHeight; fh++) {
          const ih = oh * strideHeight - top + fh * dilationHeight;
          if (ih < 0 || ih >= inHeight) continue;
          for (let fw = 0; fw < filterWidth; fw++) {
            const iw = ow * strideWidth - left + fw * dilationWidth;
            if (iw < 0 || iw >= inWidth) continue;
            const dxBase = ((b * inHeight + ih) * inWidth + iw) * inChannels;
            const wBase = (fh * filterWidth + fw) * outChannels;
            for (let c = 0; c < inChannels; c++) {
              let acc = 0;
              for (let m = 0; m < multiplier; m++) {
                const o = c * multiplier + m;
                acc += dyValues[dyBase + o] * w[wBase + o];
              }
              dx[dxBase + c] += acc;
            }
          }
        }
      }
  return makeTensor(backend, [...inputShape], 'float32', dx);
};
