/**
 * Poster fine-tuning: the top of the pretrained MobileNetV2 (by default its last
 * inverted-residual block, block_16, and the final 1×1 convolution, Conv_1) is rebuilt as
 * trainable layers initialised from the bundled nsfwjs weights, and trained with the head at a
 * lower learning rate (LayerNode.lrScale). The frozen lower trunk runs once: its output (the
 * input of the first unfrozen block, 7×7×160 for two blocks) is cached by the feature cache,
 * for the poster and its mirror image (config `trainViews: [{flip: true}]`), so an epoch only
 * runs the top.
 *
 * How the top is expressed: batch normalisation is folded into the preceding convolution
 * (inference statistics, the usual choice when fine-tuning on small batches: batch statistics
 * of 32 posters would be noisy), 1×1 convolutions are Dense layers on the channel axis (a
 * matmul, fast in both directions on wasm) and the 3×3 depthwise convolution is a stock
 * DepthwiseConv2D. All stock tfjs-layers classes: the saved model loads anywhere.
 */
import { z } from 'zod';
import { tf, tfl } from '../engine/index.js';
import { fileSystemModelHandler, nsfwjsModelDir } from '../vision/model-files.js';
import { registerOp } from './ops.js';
import { registerModel } from './registry.js';
import { SpecBuilder, type LayerNode, type ModelSpec } from './spec.js';
import { addClassifier } from './classifier.js';

type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;

/** The 7×7 end of MobileNetV2, top first: what each unit is, and the trunk layer that feeds it. */
const TOP_UNITS = [
  { name: 'Conv_1', kind: 'conv', input: 'block_16_project_BN', inChannels: 320 },
  { name: 'block_16', kind: 'block', input: 'block_15_add', inChannels: 160 },
  { name: 'block_15', kind: 'block', input: 'block_14_add', inChannels: 160 },
  { name: 'block_14', kind: 'block', input: 'block_13_project_BN', inChannels: 160 },
] as const;

export const MAX_FINETUNE_UNITS = TOP_UNITS.length;
const BN_EPSILON = 1e-3;

/**
 * The trunk layer to cache for fine-tuning the top `units` units (1: Conv_1 only; 2: block_16 +
 * Conv_1, the default; up to 4) and its shape.
 */
export function finetuneTrunkLayer(units: number): { layer: string; shape: [number, number, number] } {
  if (!Number.isInteger(units) || units < 1 || units > MAX_FINETUNE_UNITS) {
    throw new Error(`unfrozen units must be 1…${MAX_FINETUNE_UNITS}, got ${units}`);
  }
  const u = TOP_UNITS[units - 1];
  return { layer: u.input, shape: [7, 7, u.inChannels] };
}

// ---------------------------------------------------------------------------------------------
// Pretrained weights, BN folded.

interface Folded {
  kernel: tf.Tensor;
  bias: tf.Tensor;
}

let pretrained: Promise<Map<string, tf.Tensor>> | null = null;

/** The bundled nsfwjs MobileNetV2 weights by name (read once per process). */
function mobilenetWeights(): Promise<Map<string, tf.Tensor>> {
  pretrained ??= (async () => {
    const artifacts = await fileSystemModelHandler(nsfwjsModelDir('mobilenet_v2')).load();
    const named = tf.io.decodeWeights(artifacts.weightData!, artifacts.weightSpecs!);
    return new Map(Object.entries(named).filter(([k]) => /^(block_1[3-6]|Conv_1)/.test(k)));
  })().catch((err: unknown) => {
    pretrained = null;
    throw err;
  });
  return pretrained;
}

let loaded: Map<string, tf.Tensor> | null = null;

/** A convolution's kernel with its BatchNormalization folded in (per output channel). */
function folded(conv: string, bn: string, depthwise = false): Folded {
  if (!loaded)
    throw new Error('fine-tune layers: call prepareOps(spec) first (it loads the pretrained weights)');
  const w = (name: string): tf.Tensor => {
    const t = loaded!.get(name);
    if (!t) throw new Error(`MobileNetV2 has no weight '${name}'`);
    return t;
  };
  return tf.tidy(() => {
    const scale = tf.div(w(`${bn}/gamma`), tf.sqrt(tf.add(w(`${bn}/moving_variance`), BN_EPSILON)));
    const bias = tf.sub(w(`${bn}/beta`), tf.mul(w(`${bn}/moving_mean`), scale));
    const k = w(`${conv}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
    // 1×1 kernel [1, 1, in, out] → Dense [in, out]; depthwise [3, 3, C, 1] scales per channel.
    const kernel = depthwise
      ? tf.mul(k, tf.reshape(scale, [1, 1, -1, 1]))
      : tf.mul(tf.reshape(k, [k.shape[2]!, k.shape[3]!]), scale);
    return { kernel, bias };
  });
}

// ---------------------------------------------------------------------------------------------
// Ops.

const dense = (name: string, units: number, activation: 'relu6' | 'linear', w: Folded, trainable: boolean) =>
  tfl.layers.dense({ name, units, activation, trainable, weights: [w.kernel, w.bias] });

registerOp('mobilenet_unit', {
  async prepare() {
    loaded ??= await mobilenetWeights();
  },
  build({ node, inputs }) {
    const unit = node.params.unit as string;
    const trainable = !node.frozen;
    if (unit === 'Conv_1') {
      const w = folded('Conv_1', 'Conv_1_bn');
      return dense(node.id, 1280, 'relu6', w, trainable).apply(inputs[0]) as SymbolicTensor;
    }
    const expand = folded(`${unit}_expand`, `${unit}_expand_BN`);
    const dw = folded(`${unit}_depthwise`, `${unit}_depthwise_BN`, true);
    const project = folded(`${unit}_project`, `${unit}_project_BN`);
    const inChannels = expand.kernel.shape[0];
    const outChannels = project.kernel.shape[1]!;
    let x = dense(`${node.id}_expand`, expand.kernel.shape[1]!, 'relu6', expand, trainable).apply(
      inputs[0],
    ) as SymbolicTensor;
    x = tfl.layers
      .depthwiseConv2d({
        name: `${node.id}_depthwise`,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu6',
        trainable,
        weights: [dw.kernel, dw.bias],
      })
      .apply(x) as SymbolicTensor;
    x = dense(`${node.id}_project`, outChannels, 'linear', project, trainable).apply(x) as SymbolicTensor;
    // MobileNetV2's residual connection where the block keeps its width (block_14, block_15).
    if (inChannels === outChannels)
      x = tfl.layers.add({ name: `${node.id}_add` }).apply([inputs[0], x]) as SymbolicTensor;
    return x;
  },
  describe: (n) =>
    n.params.unit === 'Conv_1'
      ? `MobileNetV2 Conv_1 1×1 → 1280 · relu6 (pretrained${n.frozen ? ', frozen' : ''})`
      : `MobileNetV2 ${String(n.params.unit)}: expand 1×1 · depthwise 3×3 · project 1×1 (pretrained${n.frozen ? ', frozen' : ''})`,
});

registerOp('reshape', {
  build: ({ node, inputs }) =>
    tfl.layers
      .reshape({ name: node.id, targetShape: node.params.shape as number[] })
      .apply(inputs[0]) as SymbolicTensor,
  describe: (n) => `Reshape → ${(n.params.shape as number[]).join('×')}`,
});

registerOp('global_average_pool', {
  build: ({ node, inputs }) =>
    tfl.layers.globalAveragePooling2d({ name: node.id }).apply(inputs[0]) as SymbolicTensor,
  describe: () => 'Global average pool',
});

// ---------------------------------------------------------------------------------------------
// The model family.

const finetuneOptions = z.strictObject({
  /** Top units of MobileNetV2 to train: 1 = Conv_1; 2 = block_16 + Conv_1 (default); up to 4. */
  units: z.number().int().min(1).max(MAX_FINETUNE_UNITS).default(2),
  /** Learning rate of the pretrained units relative to the head's (training.lr). */
  trunkLrScale: z.number().positive().max(1).default(0.1),
  /** Keep the units frozen (then the model is the frozen network + head: a reference). */
  freeze: z.boolean().default(false),
  /** Head on the pooled 1280-d features: hidden layers (empty: logistic). */
  hidden: z.array(z.number().int().positive()).default([]),
  dropout: z.number().min(0).max(0.95).default(0.5),
});
export type FinetuneOptions = z.infer<typeof finetuneOptions>;

registerModel('finetune', {
  description:
    'the top blocks of the pretrained MobileNetV2, fine-tuned with a head, on cached trunk outputs',
  options: finetuneOptions,
  build(o, ctx) {
    if (ctx.inputs.length !== 1) throw new Error("model type 'finetune' takes one poster input");
    const input = ctx.inputs[0];
    const { layer, shape } = finetuneTrunkLayer(o.units);
    const wanted = (input.source.options?.layer as string | undefined) ?? '(pooled output)';
    if (wanted !== layer) {
      throw new Error(
        `fine-tuning ${o.units} unit(s) needs the trunk output '${layer}' (encoder option layer: ${layer}), not '${wanted}'`,
      );
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (input.shape.reduce((a, b) => a * b, 1) !== size) {
      throw new Error(`input '${input.id}' has shape [${input.shape}], expected ${shape.join('×')}`);
    }
    const b = new SpecBuilder();
    let x =
      input.shape.length === 3
        ? input.id
        : b.add('reshape', [input.id], { shape }, { id: 'trunk_output', group: 'MobileNetV2 (fine-tuned)' });
    const units = TOP_UNITS.slice(0, o.units).reverse();
    for (const u of units) {
      const extra: Partial<LayerNode> = { id: u.name.toLowerCase(), group: 'MobileNetV2 (fine-tuned)' };
      if (o.freeze) extra.frozen = true;
      else extra.lrScale = o.trunkLrScale;
      x = b.add('mobilenet_unit', [x], { unit: u.name }, extra);
    }
    x = b.add('global_average_pool', [x], {}, { id: 'pool', group: 'MobileNetV2 (fine-tuned)' });
    const output = addClassifier(b, x, { hidden: o.hidden, dropout: o.dropout, labels: ctx.labels.length });
    const top = units.map((u) => u.name).join(' + ');
    return {
      specVersion: 1,
      family: 'finetune',
      title: `MobileNetV2 ${top} ${o.freeze ? 'frozen' : 'fine-tuned'} + ${o.hidden.length ? `MLP ${o.hidden.join('-')}` : 'logistic'} head`,
      labels: [...ctx.labels],
      inputs: ctx.inputs,
      nodes: b.nodes,
      output,
    } satisfies ModelSpec;
  },
});
