/**
 * Engine benchmarks: the BatchMatMul fix (Dense forward+backward before/after), the fused GRU
 * (before: the op-by-op GRU) and LSTM, and tfjs-layers' GRU, on a bidirectional epoch of the sizes in issue 5 (967 sequences,
 * ≤200 tokens, GloVe-100, hidden 128, batch 32; PyTorch anchor 4.0 s on this machine).
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { initEngine, engineInfo, tf, tfl } from '../src/engine/index.js';
import { setFastTransposedMatMul } from '../src/engine/fix-matmul.js';
import { FusedAdam } from '../src/engine/fused-adam.js';
import { createGruWeights, gru } from '../src/engine/gru.js';
import { batchMaxLength, bucketByLength } from './bucketing.js';
import { gruOps } from '../src/engine/gru-ops.js';
import { createLstmWeights, lstm } from '../src/engine/lstm.js';
import { writeJsonAtomic } from '../src/util/atomic.js';
import type { BenchRow } from './types.js';

const PYTORCH_BIGRU_EPOCH_S = 4.0;

function timeIt(fn: () => void, repeats: number): number {
  fn(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) fn();
  return (performance.now() - t0) / repeats;
}

function denseStepMs(): number {
  const x = tf.randomNormal([32, 1380]);
  const y = tf.cast(tf.greater(tf.randomUniform([32, 23]), 0.8), 'float32');
  const w1 = tf.variable(tf.randomNormal([1380, 512], 0, 0.03));
  const b1 = tf.variable(tf.zeros([512]));
  const w2 = tf.variable(tf.randomNormal([512, 23], 0, 0.05));
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () =>
          tf.losses.sigmoidCrossEntropy(y, tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2)) as tf.Scalar,
      );
      for (const g of Object.values(grads)) g.dataSync();
    });
  const ms = timeIt(step, 20);
  tf.dispose([x, y, w1, b1, w2]);
  return ms;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * One optimiser step of the 1380→512→23 head (706k parameters): the update alone, and the whole
 * training step (forward, gradients, update), with tfjs' Adam and with FusedAdam.
 */
function adamRows(): BenchRow[] {
  const x = tf.randomNormal([32, 1380]);
  const y = tf.cast(tf.greater(tf.randomUniform([32, 23]), 0.8), 'float32');
  const rows: BenchRow[] = [];
  const results: Record<string, { update: [number, number]; step: [number, number] }> = {};
  for (const kind of ['tf.train.adam', 'FusedAdam'] as const) {
    const vars = [
      tf.variable(tf.randomNormal([1380, 512], 0, 0.03)),
      tf.variable(tf.zeros([512])),
      tf.variable(tf.randomNormal([512, 23], 0, 0.05)),
      tf.variable(tf.zeros([23])),
    ];
    const [w1, b1, w2, b2] = vars;
    const opt = kind === 'FusedAdam' ? new FusedAdam(vars, { learningRate: 1e-3 }) : tf.train.adam(1e-3);
    const loss = () =>
      tf.losses.sigmoidCrossEntropy(
        y,
        tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2),
      ) as tf.Scalar;
    const grads = tf.variableGrads(loss, vars).grads;
    const named = Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    const timed = (fn: () => void): [number, number] => {
      fn();
      const [c0, t0] = [cpuMs(), performance.now()];
      for (let i = 0; i < 20; i++) fn();
      return [(performance.now() - t0) / 20, (cpuMs() - c0) / 20];
    };
    results[kind] = {
      update: timed(() => opt.applyGradients(named)),
      step: timed(() => opt.minimize(loss, true, vars)!.dispose()),
    };
    tf.dispose([...vars, ...Object.values(grads)]);
    opt.dispose();
  }
  const load = `load avg ${loadavg()[0].toFixed(1)}`;
  for (const [what, label] of [
    ['update', 'Adam update alone'],
    ['step', 'training step (forward, gradients, Adam)'],
  ] as const) {
    for (const kind of ['tf.train.adam', 'FusedAdam'] as const) {
      const [wall, cpu] = results[kind][what];
      rows.push({
        name: `head 1380→512→23 ${label}, ${kind}`,
        value: +wall.toFixed(2),
        unit: 'ms/batch32',
        note: `CPU ${cpu.toFixed(2)} ms; 706k parameters; ${load}`,
      });
    }
  }
  tf.dispose([x, y]);
  return rows;
}

/** Token counts of the sample's training plots (whitespace words, capped at 200), else uniform 200. */
function trainingLengths(): { lengths: number[]; source: string } {
  const root = resolve('..', 'shared', 'datasets', 'mmimdb-sample');
  const splitPath = join(root, 'split.json');
  if (!existsSync(splitPath)) return { lengths: Array(967).fill(200), source: 'uniform 200 (sample absent)' };
  const split = JSON.parse(readFileSync(splitPath, 'utf8')) as { train: string[] };
  const have = new Set(readdirSync(join(root, 'dataset')));
  const lengths = split.train.map((id) => {
    if (!have.has(`${id}.json`)) return 200;
    const rec = JSON.parse(readFileSync(join(root, 'dataset', `${id}.json`), 'utf8')) as { plot?: string[] };
    const words = (rec.plot?.[0] ?? '').split(/\s+/).filter(Boolean).length;
    return Math.max(1, Math.min(200, words));
  });
  return { lengths, source: `mmimdb-sample train plots (${lengths.length})` };
}

type RnnImpl = 'gru' | 'gru-ops' | 'lstm';

interface EpochTime {
  /** Wall and process CPU seconds for the whole epoch (extrapolated by steps when sampled). */
  wallS: number;
  cpuS: number;
  sampledBatches: number;
}

/**
 * One epoch of a bidirectional RNN + sigmoid head with Adam over the given batches: `gru` the
 * fused kernels, `gru-ops` the op-by-op GRU it replaced (the "before"), `lstm` the fused LSTM.
 * With `maxBatches`, only the first batches run and the times are scaled by recurrent steps.
 */
function biRnnEpoch(impl: RnnImpl, lengths: number[], batches: number[][], maxBatches = Infinity): EpochTime {
  const [D, H, C] = [100, 128, 23];
  const isLstm = impl === 'lstm';
  const fw = isLstm
    ? createLstmWeights(D, H, 1, `bench_${impl}_fw`)
    : createGruWeights(D, H, 1, `bench_${impl}_fw`);
  const bw = isLstm
    ? createLstmWeights(D, H, 3, `bench_${impl}_bw`)
    : createGruWeights(D, H, 3, `bench_${impl}_bw`);
  const run = (x: tf.Tensor3D, mask: tf.Tensor2D, w: typeof fw, reverse: boolean) =>
    impl === 'lstm'
      ? lstm(x, mask, w as ReturnType<typeof createLstmWeights>, { reverse }).last
      : (impl === 'gru' ? gru : gruOps)(x, mask, w as ReturnType<typeof createGruWeights>, { reverse }).last;
  const head = tf.variable(tf.randomNormal([2 * H, C], 0, 0.05));
  const opt = tf.train.adam(1e-3);
  const stepsOf = (bs: number[][]) => bs.reduce((n, batch) => n + batchMaxLength(lengths, batch), 0);
  const sample = batches.slice(0, maxBatches);
  const trainBatch = (batch: number[]) => {
    const T = batchMaxLength(lengths, batch);
    const B = batch.length;
    tf.tidy(() => {
      const x = tf.randomNormal([B, T, D], 0, 0.3) as tf.Tensor3D;
      const maskValues = new Float32Array(B * T);
      batch.forEach((i, b) => maskValues.fill(1, b * T, b * T + Math.min(T, lengths[i])));
      const mask = tf.tensor2d(maskValues, [B, T]);
      const y = tf.cast(tf.greater(tf.randomUniform([B, C]), 0.8), 'float32');
      const loss = opt.minimize(() => {
        const h = tf.concat([run(x, mask, fw, false), run(x, mask, bw, true)], 1);
        return tf.losses.sigmoidCrossEntropy(y, tf.matMul(h, head)) as tf.Scalar;
      }, true);
      loss?.dataSync();
    });
  };
  trainBatch(sample[0]); // warm-up (kernel setup, first XNNPACK operators)
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const batch of sample) trainBatch(batch);
  const cpu = process.cpuUsage(cpu0);
  const scale = stepsOf(batches) / stepsOf(sample);
  opt.dispose();
  tf.dispose([head, ...Object.values(fw), ...Object.values(bw)]);
  return {
    wallS: ((performance.now() - t0) / 1000) * scale,
    cpuS: ((cpu.user + cpu.system) / 1e6) * scale,
    sampledBatches: sample.length,
  };
}

function epochRow(name: string, e: EpochTime, total: number, note: string): BenchRow {
  const sampled =
    e.sampledBatches < total ? `; ${e.sampledBatches}/${total} batches, extrapolated by steps` : '';
  return {
    name,
    value: +e.wallS.toFixed(2),
    unit: 's',
    note:
      `CPU ${e.cpuS.toFixed(2)} s; ×${(e.wallS / PYTORCH_BIGRU_EPOCH_S).toFixed(1)} wall, ` +
      `×${(e.cpuS / PYTORCH_BIGRU_EPOCH_S).toFixed(1)} CPU the PyTorch anchor ${PYTORCH_BIGRU_EPOCH_S} s; ` +
      `${note}${sampled}; load avg ${loadavg()[0].toFixed(1)}`,
  };
}

export async function benchEngine(): Promise<BenchRow[]> {
  await initEngine();
  const info = engineInfo();
  const rows: BenchRow[] = [];
  setFastTransposedMatMul(false);
  const before = denseStepMs();
  setFastTransposedMatMul(true);
  const after = denseStepMs();
  rows.push(
    { name: 'dense 1380→512→23 fwd+bwd, stock wasm', value: +before.toFixed(2), unit: 'ms/batch32' },
    { name: 'dense 1380→512→23 fwd+bwd, fixed', value: +after.toFixed(2), unit: 'ms/batch32' },
    { name: 'matmul fix speed-up', value: +(before / after).toFixed(1), unit: '×' },
  );
  rows.push(...adamRows());

  const { lengths, source } = trainingLengths();
  const fixed200 = Array(lengths.length).fill(200);
  const padded = bucketByLength(fixed200, 32);
  const bucketed = bucketByLength(lengths, 32, 1);
  // Back to back: the op-by-op GRU (before, sampled: a full epoch takes minutes), then fused.
  const gruBefore = biRnnEpoch('gru-ops', lengths, bucketed, 3);
  const fusedBucketed = biRnnEpoch('gru', lengths, bucketed);
  const fusedPadded = biRnnEpoch('gru', fixed200, padded);
  const lstmBucketed = biRnnEpoch('lstm', lengths, bucketed);
  rows.push(
    epochRow('biGRU epoch, op-by-op GRU (before), length-bucketed', gruBefore, bucketed.length, source),
    epochRow('biGRU epoch, fused GRU, length-bucketed', fusedBucketed, bucketed.length, source),
    epochRow('biGRU epoch, fused GRU, 200 tokens padded', fusedPadded, padded.length, 'all 200 steps'),
    {
      name: 'fused GRU speed-up over op-by-op',
      value: +(gruBefore.cpuS / fusedBucketed.cpuS).toFixed(1),
      unit: '× CPU',
      note: `wall ×${(gruBefore.wallS / fusedBucketed.wallS).toFixed(1)}`,
    },
    epochRow('biLSTM epoch, fused LSTM, length-bucketed', lstmBucketed, bucketed.length, source),
  );

  // Stock tfjs-layers Bidirectional(GRU): two batches, extrapolated to the epoch's 31.
  const inp = tfl.input({ shape: [200, 100] });
  const h = tfl.layers.bidirectional({ layer: tfl.layers.gru({ units: 128 }) as tfl.RNN }).apply(inp);
  const model = tfl.model({
    inputs: inp,
    outputs: tfl.layers.dense({ units: 23, activation: 'sigmoid' }).apply(h) as tfl.SymbolicTensor,
  });
  model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
  const x = tf.randomNormal([32, 200, 100], 0, 0.3);
  const y = tf.cast(tf.greater(tf.randomUniform([32, 23]), 0.8), 'float32');
  await model.trainOnBatch(x, y);
  const t0 = performance.now();
  await model.trainOnBatch(x, y);
  const perBatch = (performance.now() - t0) / 1000;
  const stockEpoch = perBatch * Math.ceil(lengths.length / 32);
  rows.push({
    name: 'biGRU epoch, tfjs-layers GRU (extrapolated)',
    value: +stockEpoch.toFixed(1),
    unit: 's',
    note: `1 batch ${perBatch.toFixed(2)} s × ${Math.ceil(lengths.length / 32)}; with the matmul fix`,
  });
  model.dispose();
  tf.dispose([x, y]);
  rows.push({
    name: 'wasm threads',
    value: info.threads,
    unit: 'threads',
    note: `simd=${info.simd}; the threaded build is opt-in under Node (MMGENRE_WASM_THREADS=N, src/engine/wasm-threads.ts): faster on an idle machine, slower on a busy one`,
  });
  writeJsonAtomic(resolve('bench', 'results', 'engine.json'), { date: new Date().toISOString(), rows });
  return rows;
}
