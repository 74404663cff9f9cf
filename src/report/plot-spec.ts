import type { TopLevelSpec } from 'vega-lite';
import { certifiedAccuracy, radiusGrid, type CertifyRow } from './analyze.js';
import type { Histogram } from './histogram.js';
import type { EpochRow } from './training-log.js';

/** One curve of the plot: a model's certify results under a legend label. */
export interface PlotSeries {
  readonly label: string;
  readonly rows: readonly CertifyRow[];
}

/** Radius spacing of the curves; fine enough that they read as the step functions they are. */
export const PLOT_STEP = 0.01;

// A family list that resvg resolves on Debian (DejaVu), macOS (Helvetica) and Windows (Arial) alike.
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/**
 * A vega-lite spec of certified accuracy against radius, one line per series, like the paper's
 * Figure 2. The grid runs from 0 to one step past the largest radius, so every curve shows its drop.
 */
export function plotSpec(series: readonly PlotSeries[], step: number = PLOT_STEP): TopLevelSpec {
  // A loop, not Math.max(...rows): spreading a million rows into arguments overflows the stack.
  let maxRadius = 0;
  for (const s of series) for (const row of s.rows) if (row.radius > maxRadius) maxRadius = row.radius;
  const radii = radiusGrid(step, Math.ceil(maxRadius / step) * step + step);
  const values = series.flatMap((s) => {
    const accuracy = certifiedAccuracy(s.rows, radii);
    return radii.map((radius, i) => ({ model: s.label, radius, accuracy: accuracy[i]! }));
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 320,
    background: 'white',
    data: { values },
    // Accuracy at r counts radii ≥ r, so on (r_i, r_i+1] the curve sits at its value at r_i+1: 'step-before'.
    mark: { type: 'line', strokeWidth: 2, interpolate: 'step-before' },
    encoding: {
      x: { field: 'radius', type: 'quantitative', title: 'Radius' },
      y: { field: 'accuracy', type: 'quantitative', title: 'Certified accuracy', scale: { domain: [0, 1] } },
      color: {
        field: 'model',
        type: 'nominal',
        title: null,
        scale: { domain: series.map((s) => s.label) },
        // Inside the plot: headless vega overestimates text widths, which would pad an outside legend.
        legend: { orient: 'top-right', labelLimit: 0, fillColor: 'white', padding: 6 },
      },
    },
    config: { font: FONT },
  };
}

/**
 * The paper's Figure 1: one histogram of the log-probability gap per model, overlaid (shared bin
 * edges), with the misclassification side (gap < 0) shaded.
 */
export function gapsSpec(series: readonly { label: string; histogram: Histogram }[]): TopLevelSpec {
  const values = series.flatMap(({ label, histogram: h }) => {
    const width = (h.hi - h.lo) / h.counts.length;
    return h.counts.map((count, b) => ({ model: label, lo: h.lo + b * width, hi: h.lo + (b + 1) * width, count }));
  });
  const lo = Math.min(...series.map((s) => s.histogram.lo));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 320,
    background: 'white',
    layer: [
      ...(lo < 0
        ? [
            {
              data: { values: [{ from: lo, to: 0 }] },
              mark: { type: 'rect' as const, color: '#eeeeee' },
              encoding: { x: { field: 'from', type: 'quantitative' as const }, x2: { field: 'to' } },
            },
          ]
        : []),
      {
        data: { values },
        mark: { type: 'bar' as const, opacity: 0.55, binSpacing: 0 },
        encoding: {
          x: { field: 'lo', type: 'quantitative' as const, title: 'log F_y(x+δ) − max_{c≠y} log F_c(x+δ)', scale: { zero: false } },
          x2: { field: 'hi' },
          y: { field: 'count', type: 'quantitative' as const, title: 'noise draws', stack: null },
          y2: { datum: 0 },
          color: {
            field: 'model',
            type: 'nominal' as const,
            title: null,
            scale: { domain: series.map((s) => s.label) },
            legend: { orient: 'top-left', labelLimit: 0, fillColor: 'white', padding: 6 },
          },
        },
      },
    ],
    config: { font: FONT },
  };
}

/** One run's training curves under a legend label. */
export interface TrainingSeries {
  readonly label: string;
  readonly rows: readonly EpochRow[];
}

/**
 * A vega-lite spec of a training metric per epoch, one colour per run, train dashed and test
 * solid: `metric` 'acc' plots train_acc/test_acc, 'loss' train_loss/test_loss.
 */
export function trainingPlotSpec(series: readonly TrainingSeries[], metric: 'acc' | 'loss'): TopLevelSpec {
  const values = series.flatMap((s) =>
    s.rows.flatMap((row) =>
      (['train', 'test'] as const).map((split) => ({
        run: s.label,
        epoch: row.epoch,
        split,
        value: row[`${split}_${metric}`],
      })),
    ),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 240,
    background: 'white',
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: values.length < 200 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1 } },
      // log.tsv's accuracies are percentages (files/epoch-log.ts, as the reference writes them).
      y: {
        field: 'value',
        type: 'quantitative',
        title: metric === 'acc' ? 'Accuracy (%)' : 'Loss',
        ...(metric === 'acc' && { scale: { domain: [0, 100] } }),
      },
      color: { field: 'run', type: 'nominal', title: null, scale: { domain: series.map((s) => s.label) } },
      strokeDash: { field: 'split', type: 'nominal', title: null, scale: { domain: ['test', 'train'] } },
      detail: { field: 'split' },
    },
    config: { font: FONT },
  };
}
