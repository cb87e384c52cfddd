/**
 * The custom tfjs layers the fusions need. Hand-written because tfjs-layers has no gated
 * fusion, no masked softmax over modalities and no mixture-of-probabilities output; each is a
 * few tensor ops. All are registered for serialisation, so a saved fusion model loads with
 * `tf.loadLayersModel` once this module is imported (in a browser too, with this module bundled).
 *
 * Missing modalities: the training data writes a missing input as an all-zero row (the train
 * mean after z-scoring; the trainer's modality dropout does the same), so every layer here reads
 * "present" as "the row has a non-zero value". A real feature row is never exactly zero.
 */
import { tf, tfl } from '../../engine/index.js';

type Tensor = tf.Tensor;
type Shape = (number | null)[];
type Kwargs = Record<string, unknown>;

const Layer = tfl.layers.Layer;
type LayerArgs = ConstructorParameters<typeof Layer>[0];

/** 1 where the row of `x` has any non-zero value, else 0; shape [batch, 1]. */
export function presenceOf(x: Tensor): Tensor {
  return tf.tidy(() =>
    tf.cast(tf.greater(tf.max(tf.abs(tf.reshape(x, [x.shape[0], -1])), -1, true), 0), 'float32'),
  );
}

const asList = (x: Tensor | Tensor[]): Tensor[] => (Array.isArray(x) ? x : [x]);
const shapeList = (s: Shape | Shape[]): Shape[] => (Array.isArray(s[0]) ? (s as Shape[]) : [s as Shape]);

/**
 * The GMU gate (Arevalo et al. 2017), masked. Inputs: the n raw modality inputs (for presence),
 * then the gate pre-activations g. Output: the weight of each modality per hidden unit,
 * modality-major [batch, n·units]. g has a value per unit (n·units; units for n = 2) or one per
 * modality (n; 1 for n = 2), broadcast over the units. For n = 2, z = σ(g) and the weights are (z, 1 − z) as in the
 * paper; for n > 2, a softmax over modalities per unit (the paper's generalisation). A missing
 * modality gets weight 0 and the others are renormalised to sum to 1.
 */
export class GmuGate extends Layer {
  static className = 'MmgenreGmuGate';
  readonly modalities: number;
  readonly units: number;

  constructor(args: LayerArgs & { modalities: number; units: number }) {
    super(args);
    this.modalities = args.modalities;
    this.units = args.units;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [shapeList(inputShape)[0][0], this.modalities * this.units];
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const xs = asList(inputs);
      const n = this.modalities;
      const g = xs[n];
      const b = g.shape[0];
      const present = tf.concat(
        xs.slice(0, n).map((x) => presenceOf(x)),
        1,
      ); // [b, n]
      const mask = tf.reshape(present, [b, n, 1]);
      // One gate value per unit (the paper), or one per modality (GmuOptions.gateWidth), broadcast.
      const width = (g.shape[1] as number) / (n === 2 ? 1 : n);
      let w: Tensor;
      if (n === 2) {
        const z = tf.sigmoid(g);
        w = tf.stack([z, tf.sub(1, z)], 1); // [b, 2, width]
      } else {
        // Masked softmax over the modality axis: absent modalities get −1e9 before it.
        const logits = tf.add(tf.reshape(g, [b, n, width]), tf.mul(tf.sub(mask, 1), 1e9));
        w = tf.transpose(tf.softmax(tf.transpose(logits, [0, 2, 1])), [0, 2, 1]);
      }
      if (width !== this.units) w = tf.tile(w, [1, 1, this.units / width]);
      w = tf.mul(w, mask);
      // Renormalise over present modalities (exactly 1 when all are present for n = 2).
      const total = tf.maximum(tf.sum(w, 1, true), 1e-6);
      return tf.reshape(tf.div(w, total), [b, n * this.units]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), modalities: this.modalities, units: this.units };
  }
}

/** h = Σᵢ wᵢ ⊙ hᵢ. Inputs: h₁ … hₙ ([batch, units] each), then the gate weights [batch, n·units]. */
export class GmuCombine extends Layer {
  static className = 'MmgenreGmuCombine';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return shapeList(inputShape)[0];
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const xs = asList(inputs);
      const hs = xs.slice(0, -1);
      const w = xs[xs.length - 1];
      const [b, units] = hs[0].shape;
      const ws = tf.reshape(w, [b, hs.length, units]);
      const h = tf.stack(hs, 1); // [b, n, units]
      return tf.sum(tf.mul(ws, h), 1);
    });
  }
}

/**
 * For concatenation and summation: a modality's projection where it is present, a learned
 * "missing" embedding where it is absent. Inputs: the raw modality input, its projection.
 */
export class MissingEmbedding extends Layer {
  static className = 'MmgenreMissingEmbedding';
  private embedding: tfl.LayerVariable | null = null;

  override build(inputShape: Shape | Shape[]): void {
    const units = shapeList(inputShape)[1][1] as number;
    this.embedding = this.addWeight('embedding', [units], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return shapeList(inputShape)[1];
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const [x, p] = asList(inputs);
      const m = presenceOf(x);
      return tf.add(tf.mul(m, p), tf.mul(tf.sub(1, m), this.embedding!.read()));
    });
  }
}

/**
 * The mixture-of-experts gate: a softmax over experts per movie, absent modalities masked
 * out. Inputs: the n raw modality inputs, then the gate logits [batch, n]. Output [batch, n].
 */
export class ExpertGate extends Layer {
  static className = 'MmgenreExpertGate';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = shapeList(inputShape);
    return s[s.length - 1];
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const xs = asList(inputs);
      const g = xs[xs.length - 1];
      const present = tf.concat(
        xs.slice(0, -1).map((x) => presenceOf(x)),
        1,
      );
      const w = tf.mul(tf.softmax(tf.add(g, tf.mul(tf.sub(present, 1), 1e9))), present);
      return tf.div(w, tf.maximum(tf.sum(w, 1, true), 1e-6));
    });
  }
}

/**
 * The logits of a mixture of per-expert probabilities, p = Σᵢ gᵢ σ(lᵢ), computed stably:
 * logit(p) = LSE(log gᵢ − softplus(−lᵢ)) − LSE(log gᵢ − softplus(lᵢ)). Inputs: the gate
 * [batch, n], then each expert's logits [batch, L]. Output: logits [batch, L], so the trainer's
 * cross-entropy on logits applies unchanged.
 */
export class MixtureLogits extends Layer {
  static className = 'MmgenreMixtureLogits';

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return shapeList(inputShape)[1];
  }

  override call(inputs: Tensor | Tensor[], _kwargs: Kwargs): Tensor {
    return tf.tidy(() => {
      const xs = asList(inputs);
      const g = xs[0];
      const [b, n] = g.shape;
      const l = tf.stack(xs.slice(1), 1); // [b, n, L]
      const logG = tf.reshape(tf.log(tf.add(g, 1e-12)), [b, n, 1]);
      const logPos = tf.logSumExp(tf.sub(logG, tf.softplus(tf.neg(l))), 1);
      const logNeg = tf.logSumExp(tf.sub(logG, tf.softplus(l)), 1);
      return tf.sub(logPos, logNeg);
    });
  }
}

for (const cls of [GmuGate, GmuCombine, MissingEmbedding, ExpertGate, MixtureLogits]) {
  tf.serialization.registerClass(cls);
}
