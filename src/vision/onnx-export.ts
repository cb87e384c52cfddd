/**
 * Export a bundled nsfwjs Keras model (as loaded by TensorFlow.js) to ONNX, so that
 * onnxruntime-node's native kernels run the same weights several times faster than tfjs-wasm.
 * No converter for tfjs → ONNX exists on npm (tf2onnx is Python), hence this small one: it covers
 * the layer types of MobileNetV2 and InceptionV3 (and other plain conv nets), and refuses anything
 * else by name.
 *
 * The exported graph takes NHWC float input (as the tfjs model does), transposes to ONNX's NCHW,
 * and returns the chosen layer's activation in Keras's NHWC order, so its values line up with the
 * tfjs encoder's.
 */
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine/index.js';
import { fileSystemModelHandler, nsfwjsModelDir } from './model-files.js';
import { encodeOnnxModel, type OnnxGraph, type OnnxNode, type OnnxTensor } from '../engine/onnx-proto.js';

/** Bumped when the export changes (it is part of the exported file's name). */
export const ONNX_EXPORT_VERSION = 1;

type Config = Record<string, unknown>;
type AnyLayer = LayersModel['layers'][number];

function weights(layer: AnyLayer): Float32Array[] {
  return layer.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Reorder a Keras conv kernel [kh, kw, in, out] to ONNX's [out, in, kh, kw]. */
function convKernel(k: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.transpose(k, [3, 2, 0, 1]).dataSync() as Float32Array);
}

/** Keras depthwise kernel [kh, kw, in, mult] → ONNX grouped conv weight [in·mult, 1, kh, kw]. */
function depthwiseKernel(k: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.transpose(k, [2, 3, 0, 1]).dataSync() as Float32Array);
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

/** Name of the graph output that holds `layer`'s activation when it is one of several outputs. */
export function extraOutputName(layer: string): string {
  return `features:${layer}`;
}

/**
 * Build the ONNX graph of `model` up to `outputLayer` (its activation becomes output 'features').
 * `extraLayers` become further outputs (`features:<layer>`), so that one run of the network
 * yields several of its layers; without them the graph is exactly the single-output one.
 */
export function layersModelToOnnx(
  model: LayersModel,
  outputLayer: string,
  extraLayers: string[] = [],
): OnnxGraph {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  for (const name of [outputLayer, ...extraLayers])
    if (!byName.has(name)) throw new Error(`no layer '${name}' to export`);
  const parents = (l: AnyLayer): string[] => l.inboundNodes[0]?.inboundLayers.map((p) => p.name) ?? [];
  // Keep only the ancestors of the output layers (model.layers is in topological order).
  const needed = new Set<string>();
  const stack = [outputLayer, ...extraLayers];
  while (stack.length) {
    const n = stack.pop() as string;
    if (needed.has(n)) continue;
    needed.add(n);
    stack.push(...parents(byName.get(n) as AnyLayer));
  }
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  /** ONNX tensor name holding each layer's output (Dropout aliases its input). */
  const out = new Map<string, string>();
  const rank4 = new Set<string>();
  const init = (name: string, dims: number[], data: Float32Array | BigInt64Array): string => {
    inits.push({ name, dims, data });
    return name;
  };
  const activation = (name: string, input: string, act: unknown): string => {
    if (act === undefined || act === 'linear') return input;
    const op = { relu: 'Relu', sigmoid: 'Sigmoid', softmax: 'Softmax', tanh: 'Tanh' }[String(act)];
    if (!op) throw new Error(`layer ${name}: activation '${String(act)}' not supported by the ONNX export`);
    nodes.push({ op, inputs: [input], outputs: [`${name}/act`] });
    return `${name}/act`;
  };
  let inputShape: number[] = [];
  for (const layer of model.layers) {
    if (!needed.has(layer.name)) continue;
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Config;
    const ins = parents(layer).map((p) => out.get(p) as string);
    const name = layer.name;
    let result = name;
    switch (cls) {
      case 'InputLayer': {
        inputShape = (cfg.batchInputShape as Array<number | null>).slice(1) as number[];
        nodes.push({ op: 'Transpose', inputs: ['input'], outputs: [name], attrs: { perm: [0, 3, 1, 2] } });
        break;
      }
      case 'ZeroPadding2D': {
        const [[top, bottom], [left, right]] = cfg.padding as number[][];
        const pads = init(
          `${name}/pads`,
          [8],
          BigInt64Array.from([0, 0, top, left, 0, 0, bottom, right].map(BigInt)),
        );
        nodes.push({ op: 'Pad', inputs: [ins[0], pads], outputs: [name], attrs: { mode: 'constant' } });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const ws = layer.getWeights();
        const k = ws[0];
        const depthwise = cls === 'DepthwiseConv2D';
        const [kh, kw, cin, cmult] = k.shape;
        const w = depthwise
          ? init(`${name}/W`, [cin * cmult, 1, kh, kw], depthwiseKernel(k))
          : init(`${name}/W`, [cmult, cin, kh, kw], convKernel(k));
        const inputs = [ins[0], w];
        if (cfg.useBias) inputs.push(init(`${name}/B`, [ws[1].shape[0]], ws[1].dataSync() as Float32Array));
        const attrs: OnnxNode['attrs'] = {
          kernel_shape: [kh, kw],
          strides: pair(cfg.strides),
          dilations: pair(cfg.dilationRate ?? 1),
          group: depthwise ? cin : 1,
        };
        if (cfg.padding === 'same') attrs.auto_pad = 'SAME_UPPER';
        else attrs.pads = [0, 0, 0, 0];
        nodes.push({ op: 'Conv', inputs, outputs: [`${name}/conv`], attrs });
        result = activation(name, `${name}/conv`, cfg.activation);
        break;
      }
      case 'BatchNormalization': {
        if (cfg.axis !== -1 && cfg.axis !== 3)
          throw new Error(`layer ${name}: BatchNormalization on axis ${String(cfg.axis)}`);
        if (!cfg.center) throw new Error(`layer ${name}: BatchNormalization without center`);
        // Keras stores no gamma when scale=False (InceptionV3): ONNX needs it, as ones.
        const ws = weights(layer);
        const [gamma, beta, mean, variance] = cfg.scale
          ? ws
          : [new Float32Array(ws[0].length).fill(1), ...ws];
        const c = gamma.length;
        const names = ['scale', 'bias', 'mean', 'var'].map((s, i) =>
          init(`${name}/${s}`, [c], [gamma, beta, mean, variance][i]),
        );
        nodes.push({
          op: 'BatchNormalization',
          inputs: [ins[0], ...names],
          outputs: [name],
          attrs: { epsilon: { float: Number(cfg.epsilon) } },
        });
        break;
      }
      case 'ReLU': {
        if (Number(cfg.negativeSlope ?? 0) !== 0 || Number(cfg.threshold ?? 0) !== 0)
          throw new Error(`layer ${name}: leaky/thresholded ReLU not supported by the ONNX export`);
        if (cfg.maxValue == null) nodes.push({ op: 'Relu', inputs: [ins[0]], outputs: [name] });
        else {
          const lo = init(`${name}/min`, [], Float32Array.of(0));
          const hi = init(`${name}/max`, [], Float32Array.of(Number(cfg.maxValue)));
          nodes.push({ op: 'Clip', inputs: [ins[0], lo, hi], outputs: [name] });
        }
        break;
      }
      case 'Activation':
        result = activation(name, ins[0], cfg.activation);
        break;
      case 'Add':
        nodes.push({ op: 'Sum', inputs: ins, outputs: [name] });
        break;
      case 'Concatenate': {
        // Keras concatenates NHWC on the channel axis; the graph runs NCHW, where channels are axis 1.
        const rank = (layer.outputShape as unknown[]).length;
        const axis = Number(cfg.axis ?? -1);
        if (rank !== 4 || (axis !== -1 && axis !== 3))
          throw new Error(`layer ${name}: Concatenate on axis ${axis} of a rank-${rank} tensor`);
        nodes.push({ op: 'Concat', inputs: ins, outputs: [name], attrs: { axis: 1 } });
        break;
      }
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const attrs: OnnxNode['attrs'] = {
          kernel_shape: pair(cfg.poolSize),
          strides: pair(cfg.strides ?? cfg.poolSize),
        };
        if (cfg.padding === 'same') attrs.auto_pad = 'SAME_UPPER';
        nodes.push({
          op: cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool',
          inputs: [ins[0]],
          outputs: [name],
          attrs,
        });
        break;
      }
      case 'GlobalAveragePooling2D':
        nodes.push({ op: 'GlobalAveragePool', inputs: [ins[0]], outputs: [`${name}/gap`] });
        nodes.push({ op: 'Flatten', inputs: [`${name}/gap`], outputs: [name], attrs: { axis: 1 } });
        break;
      case 'Flatten':
        // Keras flattens NHWC: go back to that order first.
        nodes.push({
          op: 'Transpose',
          inputs: [ins[0]],
          outputs: [`${name}/nhwc`],
          attrs: { perm: [0, 2, 3, 1] },
        });
        nodes.push({ op: 'Flatten', inputs: [`${name}/nhwc`], outputs: [name], attrs: { axis: 1 } });
        break;
      case 'Dense': {
        const [k, b] = weights(layer);
        const units = Number(cfg.units);
        const inputs = [ins[0], init(`${name}/W`, [k.length / units, units], k)];
        if (b) inputs.push(init(`${name}/B`, [units], b));
        nodes.push({ op: 'Gemm', inputs, outputs: [`${name}/gemm`] });
        result = activation(name, `${name}/gemm`, cfg.activation);
        break;
      }
      case 'Dropout':
        result = ins[0];
        break;
      default:
        throw new Error(`layer ${name}: ${cls} is not supported by the ONNX export`);
    }
    out.set(name, result);
    const shape = layer.outputShape as Array<number | null>;
    if (shape.length === 4) rank4.add(name);
  }
  const outputs: OnnxGraph['outputs'] = [];
  const addOutput = (layer: string, output: string): void => {
    let final = out.get(layer) as string;
    if (rank4.has(layer)) {
      nodes.push({
        op: 'Transpose',
        inputs: [final],
        outputs: [`${output}/nhwc`],
        attrs: { perm: [0, 2, 3, 1] },
      });
      final = `${output}/nhwc`;
    }
    nodes.push({ op: 'Identity', inputs: [final], outputs: [output] });
    const shape = ((byName.get(layer) as AnyLayer).outputShape as Array<number | null>).slice(1) as number[];
    outputs.push({ name: output, shape: ['N', ...shape] });
  };
  addOutput(outputLayer, 'features');
  for (const layer of extraLayers) addOutput(layer, extraOutputName(layer));
  return {
    name: `${model.name}:${[outputLayer, ...extraLayers].join('+')}`,
    inputs: [{ name: 'input', shape: ['N', ...inputShape] }],
    outputs,
    nodes,
    initializers: inits,
  };
}

/**
 * Load the bundled nsfwjs model `name` and return ONNX bytes of it truncated at `outputLayer`
 * (with `extraLayers` as further outputs).
 */
export async function exportNsfwjsToOnnx(
  name: string,
  outputLayer: string,
  extraLayers: string[] = [],
): Promise<Uint8Array> {
  await initEngine();
  const model = await loadLayersModel(fileSystemModelHandler(nsfwjsModelDir(name)));
  try {
    return encodeOnnxModel(
      layersModelToOnnx(model, outputLayer, extraLayers),
      `mmgenre onnx-export v${ONNX_EXPORT_VERSION}`,
    );
  } finally {
    model.dispose();
  }
}
