/** Training curves from metrics.jsonl: train (and dev, when logged) loss, and dev macro-F1 per epoch. */
import { renderVegaLite, seriesColors, type VegaLiteSpec } from '../charts.js';
import type { ReportContext } from '../context.js';
import { figure, missing, section, type ReportSection } from '../html.js';

interface LossPoint {
  run: string;
  epoch: number;
  series: string;
  value: number;
}

export function curvesData(ctx: ReportContext): {
  loss: LossPoint[];
  f1: Array<{ run: string; epoch: number; value: number; best: boolean }>;
} {
  const loss: LossPoint[] = [];
  const f1: Array<{ run: string; epoch: number; value: number; best: boolean }> = [];
  for (const run of ctx.runs) {
    // The kept epoch: run.json's bestEpoch, else the highest dev macro-F1 (`best` marks every improvement).
    const f1s = run.history.filter((h) => typeof h.devMacroF1 === 'number');
    const bestEpoch =
      run.info?.bestEpoch ??
      (f1s.length > 0
        ? f1s.reduce((a, b) => ((b.devMacroF1 as number) > (a.devMacroF1 as number) ? b : a)).epoch
        : undefined);
    for (const h of run.history) {
      if (typeof h.loss === 'number' && Number.isFinite(h.loss))
        loss.push({ run: run.name, epoch: h.epoch, series: 'train loss', value: h.loss });
      if (typeof h.devLoss === 'number' && Number.isFinite(h.devLoss))
        loss.push({ run: run.name, epoch: h.epoch, series: 'dev loss', value: h.devLoss });
      if (typeof h.devMacroF1 === 'number' && Number.isFinite(h.devMacroF1)) {
        f1.push({ run: run.name, epoch: h.epoch, value: h.devMacroF1, best: h.epoch === bestEpoch });
      }
    }
  }
  return { loss, f1 };
}

export async function renderCurvesSection(ctx: ReportContext): Promise<ReportSection> {
  const { loss, f1 } = curvesData(ctx);
  const colors = seriesColors(ctx.runs.map((r) => r.name));
  const without = ctx.runs.filter((r) => r.history.length === 0).map((r) => r.name);
  const parts: string[] = [];
  if (loss.length === 0 && f1.length === 0) {
    parts.push(
      missing('No run has a metrics.jsonl with per-epoch values, so there are no training curves to draw.'),
    );
  } else {
    const hasDevLoss = loss.some((p) => p.series === 'dev loss');
    const spec: VegaLiteSpec = {
      hconcat: [
        {
          title: hasDevLoss ? 'Loss (train and dev)' : 'Training loss',
          width: 420,
          height: 260,
          data: { values: loss },
          mark: { type: 'line', point: { size: 24 } },
          encoding: {
            x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
            y: {
              field: 'value',
              type: 'quantitative',
              title: 'binary cross-entropy',
              scale: { zero: false },
            },
            color: { field: 'run', type: 'nominal', title: 'run', scale: colors },
            strokeDash: {
              field: 'series',
              type: 'nominal',
              title: 'curve',
              sort: ['train loss', 'dev loss'],
            },
          },
        },
        {
          title: 'Dev macro-F1 (threshold 0.5); ringed: best epoch',
          width: 420,
          height: 260,
          data: { values: f1 },
          layer: [
            {
              mark: { type: 'line', point: { size: 24 } },
              encoding: {
                x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
                y: { field: 'value', type: 'quantitative', title: 'dev macro-F1', scale: { zero: false } },
                color: { field: 'run', type: 'nominal', title: 'run', scale: colors },
              },
            },
            {
              transform: [{ filter: 'datum.best' }],
              mark: { type: 'point', size: 160, strokeWidth: 2, filled: false },
              encoding: {
                x: { field: 'epoch', type: 'quantitative' },
                y: { field: 'value', type: 'quantitative' },
                color: { field: 'run', type: 'nominal', scale: colors },
              },
            },
          ],
        },
      ],
      resolve: { scale: { color: 'shared' } },
    };
    parts.push(
      figure(await renderVegaLite(spec), 'Per-epoch values from each run’s metrics.jsonl.', 'curves'),
    );
    if (!hasDevLoss)
      parts.push(
        '<p class="note">The trainer does not log a dev loss, so only the training loss is drawn (with dropout, as optimised).</p>',
      );
  }
  if (without.length > 0 && (loss.length > 0 || f1.length > 0)) {
    parts.push(missing(`No metrics.jsonl for: ${without.join(', ')}.`));
  }
  return section(
    'curves',
    'Training curves',
    'How the loss fell and the dev macro-F1 rose, epoch by epoch; the best dev epoch is the one kept.',
    parts.join(''),
  );
}
