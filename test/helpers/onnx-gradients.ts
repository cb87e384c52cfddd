/**
 * The check that the onnxruntime training step computes tfjs' loss and gradients for a spec
 * (dropout off in both, i.e. masks of ones), including rows with a missing modality: shared by
 * the ONNX step's tests and the suite over every model family.
 */
import assert from 'node:assert/strict';
import { tf } from '../../src/engine/index.js';
import { buildModel, type InputSpec, type ModelSpec } from '../../src/models/index.js';
import { OnnxTrainingStep } from '../../src/train/onnx-step.js';
import { pseudoRandomValues } from './backends.js';

/** Rows per checked batch. */
export const N = 9;

export function batch(
  seed: number,
  ins: InputSpec[],
  nLabels: number,
): { x: Float32Array[]; y: Float32Array } {
  const x = ins.map((input, k) => pseudoRandomValues(N * input.shape[0], seed + k));
  // Row 2 has no first input, row 5 no last one, row 7 only the last: the gates and the
  // missing embedding mask them.
  const clear = (k: number, row: number) => x[k].fill(0, row * ins[k].shape[0], (row + 1) * ins[k].shape[0]);
  clear(0, 2);
  clear(ins.length - 1, 5);
  for (let k = 0; k < ins.length - 1; k++) clear(k, 7);
  const y = Float32Array.from(pseudoRandomValues(N * nLabels, seed + 9), (v) => (v > 0.3 ? 1 : 0));
  return { x, y };
}

/** tfjs' loss and gradients (inference-mode dropout, i.e. none) vs the compiled step's. */
export async function compareOnnxGradients(spec: ModelSpec, posWeight: Float32Array | null): Promise<void> {
  const ins = spec.inputs;
  const { model, logitsModel } = buildModel(spec, { seed: 3 });
  // Perturb every weight so that no gradient is zero by construction (zero-initialised gate kernels).
  tf.tidy(() =>
    logitsModel.weights.forEach((w, k) =>
      w.write(tf.add(w.read(), tf.tensor(pseudoRandomValues(w.read().size, 50 + k, 0.1), w.read().shape))),
    ),
  );
  const trainable = logitsModel.trainableWeights.map((w) => w.read() as tf.Variable);
  const before = trainable.map((v) => v.dataSync().slice());
  const { x, y } = batch(7, ins, spec.labels.length);
  // Both kernel layouts: tfjs' [in, out], and [out, in] as the trainer runs it.
  const runs = [];
  for (const kernelLayout of ['model', 'transposed'] as const) {
    const step = await OnnxTrainingStep.compile(spec, logitsModel, trainable, {
      posWeight,
      threads: 2,
      kernelLayout,
    });
    const masks = step.dropout.map((d) => new Float32Array(N * d.width).fill(1));
    step.useTrainingLayout([]);
    const loss = await step.run(x, y, N, masks);
    step.useModelLayout([]);
    const grads = Object.fromEntries(trainable.map((v) => [v.name, step.gradInModelLayout(v.name)]));
    runs.push({ kernelLayout, loss, grads });
    step.dispose();
  }
  // The layout switch is a pure permutation: the weights come back bit for bit.
  trainable.forEach((v, k) => assert.deepEqual(v.dataSync(), before[k], `${v.name} changed`));

  const xs = x.map((v, k) => tf.tensor2d(v, [N, ins[k].shape[0]]));
  const yt = tf.tensor2d(y, [N, spec.labels.length]);
  const { value, grads } = tf.variableGrads(
    () =>
      tf.tidy(() => {
        const z = logitsModel.apply(xs, { training: false }) as tf.Tensor;
        let pos = tf.mul(yt, tf.softplus(tf.neg(z)));
        if (posWeight) pos = tf.mul(pos, tf.tensor1d(posWeight));
        return tf.mean(tf.add(tf.mul(tf.sub(1, yt), tf.softplus(z)), pos)) as tf.Scalar;
      }),
    trainable,
  );
  for (const run of runs) {
    const loss = value.dataSync()[0];
    assert.ok(Math.abs(loss - run.loss) < 1e-5, `${run.kernelLayout}: loss ${loss} vs ${run.loss}`);
    for (const v of trainable) {
      const want = grads[v.name].dataSync();
      const got = run.grads[v.name]?.dataSync();
      assert.ok(got, `no gradient for ${v.name}`);
      let scale = 0;
      for (const a of want) scale = Math.max(scale, Math.abs(a));
      assert.ok(scale > 0, `${v.name}: tfjs gradient is all zero (test would prove nothing)`);
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(want[i] - got[i]));
      assert.ok(
        err <= 1e-4 * scale + 1e-7,
        `${run.kernelLayout} ${v.name}: max error ${err} (scale ${scale})`,
      );
    }
  }
  tf.dispose([value, yt, ...xs, ...Object.values(grads), ...runs.flatMap((r) => Object.values(r.grads))]);
  model.dispose();
}
