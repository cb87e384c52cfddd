/**
 * Recurrent plot models: token ids → Embedding (initialised from GloVe, frozen or trainable)
 * → GRU or LSTM (optionally bidirectional, padding masked) → dropout → sigmoid per genre.
 *
 * The recurrence is a custom layer on the engine's fused masked GRU and LSTM (src/engine/gru.ts,
 * lstm.ts): tfjs-layers' GRU/LSTM build ~15 taped ops per step and replay them through
 * autodiff, ~30× slower than PyTorch on this machine. The layer takes the token ids as its second input and masks
 * padding (id 0) itself, so a right-padded batch gives the same states as the unpadded one.
 */
import { z } from 'zod';
import { tf, tfl } from '../engine/index.js';
import { gru, type GruWeights } from '../engine/gru.js';
import { lstm, type LstmWeights } from '../engine/lstm.js';
import { embeddingMatrix } from '../text/vocabulary.js';
import { sequenceVocabulary, type SequenceFeatureOptions } from '../text/encoders.js';
import { registerOp, type OpContext } from './ops.js';
import { registerModel } from './registry.js';
import { SpecBuilder, type LayerNode, type ModelSpec } from './spec.js';
import { addClassifier } from './classifier.js';

type Tensor = tf.Tensor;
type Shape = (number | null)[];
type SymbolicTensor = InstanceType<typeof tfl.SymbolicTensor>;
const Layer = tfl.layers.Layer;
type LayerArgs = ConstructorParameters<typeof Layer>[0];
type LayerVariable = ReturnType<InstanceType<typeof Layer>['addWeight']>;

export type RnnCell = 'gru' | 'lstm';
/**
 * How the states of a direction become the encoding: its last real state, the element-wise
 * max or mean over the real (unpadded) steps, or mean and max concatenated. Pooling over time
 * lets every part of a long plot reach the classifier directly instead of through 200 steps of
 * recurrence (on the sample's dev split it beats the last state; see configs/text-gru.yaml).
 */
export type RnnPooling = 'last' | 'max' | 'mean' | 'meanmax';

// ---------------------------------------------------------------------------------------------
// The recurrent layer.

interface RnnArgs {
  cell: RnnCell;
  units: number;
  bidirectional: boolean;
  /** Default 'last' (models saved before pooling existed load unchanged). */
  pooling?: RnnPooling;
}

/** Very negative value added to padded steps so that max pooling never picks them. */
const PAD_PENALTY = 1e4;

/** One direction's states [batch, time, units] → [batch, units (· 2 for meanmax)]. */
function poolStates(
  states: { sequence: tf.Tensor3D; last: tf.Tensor2D },
  mask: tf.Tensor2D,
  pooling: RnnPooling,
): Tensor {
  if (pooling === 'last') return states.last;
  const m = tf.expandDims(mask, 2);
  const parts: Tensor[] = [];
  if (pooling === 'mean' || pooling === 'meanmax') {
    // A row with no real token (a missing plot) divides by 1, not 0: its states are all zero.
    const count = tf.maximum(tf.sum(mask, 1, true), 1);
    parts.push(tf.div(tf.sum(tf.mul(states.sequence, m), 1), count));
  }
  if (pooling === 'max' || pooling === 'meanmax') {
    // The reverse direction reads the right padding first with its zero initial state: those
    // steps must not count, so they get a large negative offset (and a zero gradient).
    parts.push(tf.max(tf.add(states.sequence, tf.mul(tf.sub(m, 1), PAD_PENALTY)), 1));
  }
  return parts.length === 1 ? parts[0] : tf.concat(parts, 1);
}

/**
 * Inputs: [embedded tokens [batch, time, dim], token ids [batch, time]]. Output: the last real
 * state of each direction, concatenated, [batch, units · directions]. Registered for
 * serialisation, so a saved model loads with `tf.loadLayersModel` once this module is imported.
 */
export class FastRnn extends Layer {
  static className = 'MmgenreFastRnn';
  readonly cell: RnnCell;
  readonly units: number;
  readonly bidirectional: boolean;
  readonly pooling: RnnPooling;
  private dirs: Array<Record<string, LayerVariable>> = [];

  constructor(args: LayerArgs & RnnArgs) {
    super(args);
    this.cell = args.cell;
    this.units = args.units;
    this.bidirectional = args.bidirectional;
    this.pooling = args.pooling ?? 'last';
  }

  override build(inputShape: Shape | Shape[]): void {
    const dim = (inputShape as Shape[])[0][2];
    if (dim === null) throw new Error(`${this.name}: the embedding size must be known`);
    const gates = this.cell === 'gru' ? 3 : 4;
    const U = this.units;
    const glorot = tfl.initializers.glorotUniform({});
    const zeros = tfl.initializers.zeros();
    this.dirs = (this.bidirectional ? ['forward', 'backward'] : ['forward']).map((d) => {
      const w: Record<string, LayerVariable> = {
        kernel: this.addWeight(`${d}/kernel`, [dim, gates * U], 'float32', glorot),
        recurrentKernel: this.addWeight(`${d}/recurrent_kernel`, [U, gates * U], 'float32', glorot),
        bias: this.addWeight(`${d}/bias`, [gates * U], 'float32', zeros),
      };
      if (this.cell === 'gru') {
        w.recurrentBias = this.addWeight(`${d}/recurrent_bias`, [gates * U], 'float32', zeros);
      } else {
        // Forget-gate bias 1 (Jozefowicz et al. 2015; Keras' unit_forget_bias).
        w.bias.write(tf.concat([tf.zeros([U]), tf.ones([U]), tf.zeros([2 * U])]));
      }
      return w;
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const perDirection = this.pooling === 'meanmax' ? 2 * this.units : this.units;
    return [(inputShape as Shape[])[0][0], perDirection * (this.bidirectional ? 2 : 1)];
  }

  override call(inputs: Tensor | Tensor[]): Tensor {
    return tf.tidy(() => {
      const [x, ids] = inputs as Tensor[];
      const mask = tf.cast(tf.notEqual(ids, 0), 'float32') as tf.Tensor2D;
      const outs = this.dirs.map((w, k) => {
        const reverse = k === 1;
        if (this.cell === 'gru') {
          const weights: GruWeights = {
            kernel: w.kernel.read() as tf.Tensor2D,
            recurrentKernel: w.recurrentKernel.read() as tf.Tensor2D,
            bias: w.bias.read() as tf.Tensor1D,
            recurrentBias: w.recurrentBias.read() as tf.Tensor1D,
          };
          return poolStates(gru(x as tf.Tensor3D, mask, weights, { reverse }), mask, this.pooling);
        }
        const weights: LstmWeights = {
          kernel: w.kernel.read() as tf.Tensor2D,
          recurrentKernel: w.recurrentKernel.read() as tf.Tensor2D,
          bias: w.bias.read() as tf.Tensor1D,
        };
        return poolStates(lstm(x as tf.Tensor3D, mask, weights, { reverse }), mask, this.pooling);
      });
      return outs.length === 1 ? outs[0] : tf.concat(outs, 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      cell: this.cell,
      units: this.units,
      bidirectional: this.bidirectional,
      pooling: this.pooling,
    };
  }
}
tf.serialization.registerClass(FastRnn);

// ---------------------------------------------------------------------------------------------
// Ops and the model family.

/** GloVe-initialised embedding matrices, by node, filled by the op's prepare(). */
const embeddingInit = new Map<string, { key: string; matrix: Float32Array; rows: number; dim: number }>();

function sequenceOptionsOf(node: LayerNode, spec: ModelSpec): SequenceFeatureOptions {
  const input = spec.inputs.find((i) => i.id === node.inputs[0]);
  if (!input || input.source.kind !== 'sequence') {
    throw new Error(`node '${node.id}' must read a sequence input, not '${node.inputs[0]}'`);
  }
  return { maxLen: input.shape[0], ...(input.source.options ?? {}) } as SequenceFeatureOptions;
}

const initKey = (node: LayerNode, o: SequenceFeatureOptions): string =>
  `${node.id}:${JSON.stringify(o.vocabulary ?? o.maxWords ?? null)}`;

registerOp('embedding', {
  async prepare(node, spec) {
    if (node.params.init !== 'glove') return;
    const o = sequenceOptionsOf(node, spec);
    const key = initKey(node, o);
    if (embeddingInit.get(node.id)?.key === key) return;
    const { vocab, vectors } = await sequenceVocabulary(o);
    const matrix = embeddingMatrix(vocab, vectors);
    embeddingInit.set(node.id, { key, matrix, rows: vocab.size, dim: vectors.dim });
  },
  build({ node, inputs, spec }: OpContext) {
    const inputDim = node.params.inputDim as number;
    const outputDim = node.params.outputDim as number;
    let weights: Tensor[] | undefined;
    if (node.params.init === 'glove') {
      const init = embeddingInit.get(node.id);
      if (!init || init.key !== initKey(node, sequenceOptionsOf(node, spec))) {
        throw new Error(`embedding '${node.id}': call prepareOps(spec) first (it loads the GloVe vectors)`);
      }
      if (init.rows !== inputDim || init.dim !== outputDim) {
        throw new Error(
          `embedding '${node.id}': GloVe matrix is ${init.rows}×${init.dim}, the layer ${inputDim}×${outputDim}`,
        );
      }
      weights = [tf.tensor2d(init.matrix, [inputDim, outputDim])];
    }
    return tfl.layers
      .embedding({ name: node.id, inputDim, outputDim, trainable: !node.frozen, weights })
      .apply(inputs[0]) as SymbolicTensor;
  },
  describe: (n) =>
    `Embedding ${String(n.params.inputDim)} × ${String(n.params.outputDim)}${n.params.init === 'glove' ? ' · GloVe' : ''}${n.frozen ? ' · frozen' : ''}`,
});

registerOp('rnn', {
  build: ({ node, inputs }) =>
    new FastRnn({
      name: node.id,
      cell: node.params.cell as RnnCell,
      units: node.params.units as number,
      bidirectional: node.params.bidirectional as boolean,
      pooling: (node.params.pooling as RnnPooling | undefined) ?? 'last',
      trainable: !node.frozen,
    }).apply(inputs) as SymbolicTensor,
  describe: (n) => {
    const pooling = (n.params.pooling as RnnPooling | undefined) ?? 'last';
    const pooled = pooling === 'last' ? '' : ` · ${pooling === 'meanmax' ? 'mean+max' : pooling}-pooled`;
    return `${n.params.bidirectional ? 'Bidirectional ' : ''}${String(n.params.cell).toUpperCase()} ${String(n.params.units)} · masked${pooled}`;
  },
});

const rnnOptions = z.strictObject({
  cell: z.enum(['gru', 'lstm']).default('gru'),
  units: z.number().int().positive().default(128),
  bidirectional: z.boolean().default(true),
  /** Embedding initialised from GloVe ('glove') or at random ('random'). */
  embeddingInit: z.enum(['glove', 'random']).default('glove'),
  /** Update the embedding during training (GloVe rows are the starting point). */
  trainEmbedding: z.boolean().default(false),
  /** Learning-rate multiplier of a trained embedding (small: GloVe rows move slowly on 1k plots). */
  embeddingLrScale: z.number().positive().max(1).default(1),
  /** Dropout on the embedded tokens, before the recurrence. */
  embeddingDropout: z.number().min(0).max(0.95).default(0),
  /** Encoding of each direction: last real state, or max / mean / mean+max over the real steps. */
  pooling: z.enum(['last', 'max', 'mean', 'meanmax']).default('last'),
  /** Embedding size when initialised at random (GloVe's is 100). */
  embeddingDim: z.number().int().positive().default(100),
  /** Dropout on the recurrent encoding, before the classifier. */
  dropout: z.number().min(0).max(0.95).default(0.5),
  /** Optional dense layers between the encoding and the output. */
  hidden: z.array(z.number().int().positive()).default([]),
});

registerModel('rnn', {
  description: 'GRU or LSTM (bidirectional option, masked padding) over GloVe-initialised token embeddings',
  options: rnnOptions,
  build(o, ctx) {
    if (ctx.inputs.length !== 1 || ctx.inputs[0].source.kind !== 'sequence') {
      throw new Error("model type 'rnn' takes exactly one sequence input (kind: sequence)");
    }
    const input = ctx.inputs[0];
    const so = { maxLen: input.shape[0], ...(input.source.options ?? {}) } as SequenceFeatureOptions;
    const vocabSize = so.vocabulary ? so.vocabulary.length + 2 : (so.maxWords ?? 50_000) + 2;
    const b = new SpecBuilder();
    const emb = b.add(
      'embedding',
      [input.id],
      {
        inputDim: vocabSize,
        outputDim: o.embeddingInit === 'glove' ? 100 : o.embeddingDim,
        init: o.embeddingInit,
      },
      {
        id: 'embedding',
        frozen: !o.trainEmbedding,
        group: 'plot encoder',
        ...(o.trainEmbedding && o.embeddingLrScale !== 1 ? { lrScale: o.embeddingLrScale } : {}),
      },
    );
    const embedded =
      o.embeddingDropout > 0
        ? b.add(
            'dropout',
            [emb],
            { rate: o.embeddingDropout },
            { id: 'embedding_dropout', group: 'plot encoder' },
          )
        : emb;
    const x = b.add(
      'rnn',
      [embedded, input.id],
      { cell: o.cell, units: o.units, bidirectional: o.bidirectional, pooling: o.pooling },
      { id: o.cell, group: 'plot encoder' },
    );
    const output = addClassifier(b, x, { hidden: o.hidden, dropout: o.dropout, labels: ctx.labels.length });
    const title = `${o.bidirectional ? 'Bi' : ''}${o.cell.toUpperCase()} ${o.units} on ${o.embeddingInit === 'glove' ? 'GloVe' : 'learned'} embeddings`;
    return {
      specVersion: 1,
      family: 'rnn',
      title,
      labels: [...ctx.labels],
      inputs: ctx.inputs,
      nodes: b.nodes,
      output,
    } satisfies ModelSpec;
  },
});
