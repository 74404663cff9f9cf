import type { TopLevelSpec } from 'vega-lite';
import { certifiedAccuracy, radiusGrid, type CertifyRow } from './analyze.js';
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
  const maxRadius = Math.max(0, ...series.flatMap((s) => s.rows.map((row) => row.radius)));
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
  const values = series.flatMap((s) => s.rows.flatMap((row) => (['train', 'test'] as const).map((split) => ({
    run: s.label, epoch: row.epoch, split, value: row[`${split}_${metric}`],
  }))));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 240,
    background: 'white',
    data: { values },
    mark: { type: 'line', strokeWidth: 2, point: values.length < 200 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'Epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: metric === 'acc' ? 'Accuracy' : 'Loss', ...(metric === 'acc' && { scale: { domain: [0, 1] } }) },
      color: { field: 'run', type: 'nominal', title: null, scale: { domain: series.map((s) => s.label) } },
      strokeDash: { field: 'split', type: 'nominal', title: null, scale: { domain: ['test', 'train'] } },
      detail: { field: 'split' },
    },
    config: { font: FONT },
  };
}
