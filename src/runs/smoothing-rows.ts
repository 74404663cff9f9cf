import { ADAPTIVE_HEADER, CERTIFY_HEADER, DECISION_HEADER } from '../report/analyze.js';
import { PREDICT_HEADER } from '../report/predict-tsv.js';
import type { AdaptivePlan } from '../smoothing/adaptive.js';
import {
  certifyAdaptiveBySampling,
  certifyBySampling,
  predictBySampling,
  type SampleCounts,
  type SmoothingNoise,
} from '../smoothing/smooth.js';

export type SmoothingMode = 'certify' | 'predict';

/** What decides one example's row besides its counts: the mode and its sample sizes. */
export type RowRule =
  | { mode: 'predict'; n: number; alpha: number }
  | { mode: 'certify'; n0: number; n: number; alpha: number }
  | { mode: 'certify'; plan: AdaptivePlan };

/** The TSV's columns: the reference's, plus forward passes (and the decided radii) for adaptive CERTIFY. */
export function columnsOf(rule: RowRule): readonly string[] {
  if (rule.mode === 'predict') return PREDICT_HEADER;
  if (!('plan' in rule)) return CERTIFY_HEADER;
  return rule.plan.radii === null ? ADAPTIVE_HEADER : DECISION_HEADER;
}

export interface Row {
  cells: (string | number)[];
  correct: boolean;
}

/**
 * Example `index`'s row (idx, label, the answer's columns, time) from its counts; rejects when
 * interrupted between two batches (or while waiting for workers): it is then redone on resume.
 */
export async function exampleRow(rule: RowRule, sample: SampleCounts, noise: SmoothingNoise, index: number, label: number): Promise<Row> {
  const began = performance.now();
  let cells: (string | number)[]; // the columns between label and time
  if (rule.mode === 'predict') {
    const r = await predictBySampling(sample, noise, rule.n, rule.alpha);
    cells = [r.prediction, Number(r.prediction === label)];
  } else if ('plan' in rule) {
    const r = await certifyAdaptiveBySampling(sample, noise, rule.plan);
    cells = [r.prediction, r.radius, Number(r.prediction === label), r.samples, ...(r.decisions ? [certifiedRadii(r.decisions)] : [])];
  } else {
    const r = await certifyBySampling(sample, noise, rule.n0, rule.n, rule.alpha);
    cells = [r.prediction, r.radius, Number(r.prediction === label)];
  }
  return { cells: [index, label, ...cells, elapsed(began)], correct: cells[0] === label };
}

/** Duration since `began` in Python's timedelta format (H:MM:SS.ffffff), as the reference writes it. */
function elapsed(began: number): string {
  const us = Math.round((performance.now() - began) * 1000);
  const h = Math.floor(us / 3_600_000_000);
  const m = Math.floor(us / 60_000_000) % 60;
  const s = Math.floor(us / 1_000_000) % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** The decision-mode column: the radii certified, comma-separated, or '-' for none. */
function certifiedRadii(d: { radii: number[]; certified: boolean[] }): string {
  const list = d.radii.filter((_, k) => d.certified[k]);
  return list.length === 0 ? '-' : list.join(',');
}
