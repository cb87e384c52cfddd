import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-core's node bundle does not register the chained ops (`x.flatten()`, `x.reshape(...)`),
 * yet tfjs-layers' recurrent layers call them (dropout masks in GRU/LSTM fail with
 * "rMat.flatten is not a function"). The official registrations are ESM files without
 * extensions that Node cannot import next to the CJS bundle, so the same table is installed
 * here: each method forwards to the op of the same name with `this` as first argument (list
 * taken from tfjs-core 4.22's dist/public/chained_ops), plus the handful with other bodies.
 */
const SAME_NAME = `abs acos acosh add all any argMax argMin asin asinh atan atan2 atanh batchToSpaceND
  batchNorm broadcastTo cast ceil clipByValue conv1d conv2d cos cosh cumprod cumsum depthToSpace div
  divNoNan dot elu equal erf euclideanNorm exp expandDims expm1 fft floor floorDiv gather greater
  greaterEqual ifft irfft isFinite isInf isNaN leakyRelu less lessEqual log log1p logSigmoid logSoftmax
  logSumExp logicalAnd logicalNot logicalOr logicalXor matMul max maximum mean min minimum mirrorPad mod
  mul neg norm notEqual oneHot onesLike pad pool pow prelu prod reciprocal relu relu6 reshape reverse rfft
  round rsqrt selu sigmoid sign sin sinh slice softmax softplus spaceToBatchND split sqrt square
  squaredDifference squeeze step stridedSlice sub sum tan tanh tile topk transpose unique unstack
  zerosLike`.split(/\s+/);

type Method = (this: tf.Tensor, ...args: never[]) => unknown;

const SPECIAL: Record<string, Method> = {
  asType(this: tf.Tensor, dtype: tf.DataType) {
    return tf.cast(this, dtype);
  },
  as1D(this: tf.Tensor) {
    return tf.reshape(this, [this.size]);
  },
  flatten(this: tf.Tensor) {
    return tf.reshape(this, [this.size]);
  },
  as2D(this: tf.Tensor, ...shape: number[]) {
    return tf.reshape(this, shape);
  },
  as3D(this: tf.Tensor, ...shape: number[]) {
    return tf.reshape(this, shape);
  },
  as4D(this: tf.Tensor, ...shape: number[]) {
    return tf.reshape(this, shape);
  },
  as5D(this: tf.Tensor, ...shape: number[]) {
    return tf.reshape(this, shape);
  },
  asScalar(this: tf.Tensor) {
    if (this.size !== 1) throw new Error('The array must have only 1 element.');
    return tf.reshape(this, []);
  },
  reshapeAs(this: tf.Tensor, x: tf.Tensor) {
    return tf.reshape(this, x.shape);
  },
  concat(this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) {
    return tf.concat([this, ...(x instanceof tf.Tensor ? [x] : x)], axis);
  },
  stack(this: tf.Tensor, x: tf.Tensor | tf.Tensor[], axis?: number) {
    return tf.stack([this, ...(x instanceof tf.Tensor ? [x] : x)], axis);
  },
  toBool(this: tf.Tensor) {
    return tf.cast(this, 'bool');
  },
  toFloat(this: tf.Tensor) {
    return tf.cast(this, 'float32');
  },
  toInt(this: tf.Tensor) {
    return tf.cast(this, 'int32');
  },
  where(this: tf.Tensor, condition: tf.Tensor, x: tf.Tensor) {
    return tf.where(condition, this, x);
  },
};

/** Installs the missing chained ops on tfjs's Tensor class; returns how many were added. */
export function installChainedOps(): number {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const ops = tf as unknown as Record<string, unknown>;
  let added = 0;
  const define = (name: string, fn: Method) => {
    if (typeof proto[name] === 'function') return;
    Object.defineProperty(proto, name, {
      value: function (this: tf.Tensor, ...args: never[]) {
        this.throwIfDisposed();
        return fn.apply(this, args);
      },
      writable: true,
      configurable: true,
    });
    added++;
  };
  for (const name of SAME_NAME) {
    const op = ops[name];
    if (typeof op !== 'function') continue;
    define(name, function (this: tf.Tensor, ...args: never[]) {
      return (op as (...a: unknown[]) => unknown)(this, ...args);
    });
  }
  for (const [name, fn] of Object.entries(SPECIAL)) define(name, fn);
  return added;
}
