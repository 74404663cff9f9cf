import { UserError } from '../errors.js';
import { loadDataset } from '../data/registry.js';
import type { Split } from '../data/types.js';
import { ResultLog } from '../files/result-log.js';
import { Smooth } from '../smoothing/smooth.js';
import { useBackend } from './backend-option.js';
import { loadClassifier, type OnnxInputOptions } from './classifier-source.js';
import { progress } from './progress.js';

export interface SmoothingRunOptions {
  dataset: string;
  split: Split;
  dataDir?: string;
  model: string;
  sigma?: number;
  n0: number;
  n: number;
  alpha: number;
  batch: number;
  skip: number;
  max?: number;
  seed: number;
  out: string;
  backend?: string;
  inputLayout?: OnnxInputOptions['inputLayout'];
  mean?: number[];
  std?: number[];
}

const COLUMNS = {
  certify: ['idx', 'label', 'predict', 'radius', 'correct', 'time'],
  predict: ['idx', 'label', 'predict', 'correct', 'time'],
} as const;

/**
 * Runs CERTIFY or PREDICT over every `skip`-th example of a dataset split below `max`,
 * appending one line per example to `out` and resuming after the last complete line.
 * Example i's noise is stream i of the seed, so a resumed run gives the same results.
 */
export async function runSmoothing(mode: 'certify' | 'predict', o: SmoothingRunOptions): Promise<void> {
  if (o.split !== 'train' && o.split !== 'test') throw new UserError(`--split must be "train" or "test", got "${o.split}"`);
  const data = await loadDataset(o.dataset, o.split, o.dataDir === undefined ? {} : { dataDir: o.dataDir });
  await useBackend(o.backend);
  const loaded = await loadClassifier(o.model, data.shape, o.dataset, {
    ...(o.inputLayout ? { inputLayout: o.inputLayout } : {}), ...(o.mean ? { mean: o.mean } : {}), ...(o.std ? { std: o.std } : {}),
  });
  const sigma = o.sigma ?? loaded.trainedSigma;
  if (sigma === undefined) throw new UserError(`--sigma is required: the model ${o.model} does not record the noise level it was trained with`);
  const smooth = new Smooth(loaded.base, sigma, o.seed);

  const end = Math.min(data.size, o.max ?? Infinity);
  const isOnnx = o.model.toLowerCase().endsWith('.onnx');
  const settings = {
    command: mode, model: o.model, modelFingerprint: loaded.fingerprint, dataset: o.dataset, data: data.source, split: o.split,
    sigma, seed: o.seed, alpha: o.alpha, n: o.n, ...(mode === 'certify' ? { n0: o.n0 } : {}),
    ...(isOnnx ? { inputLayout: loaded.inputLayout, mean: o.mean ?? null, std: o.std ?? null } : {}),
  };
  const log = ResultLog.open(o.out, COLUMNS[mode], settings);
  const todo: number[] = [];
  let total = 0;
  for (let i = 0; i < end; i += o.skip) {
    total++;
    if (!log.done.has(i)) todo.push(i);
  }
  if (todo.length < total) process.stderr.write(`resuming ${o.out}: ${total - todo.length} of ${total} examples already done\n`);

  const bar = progress(mode, total, 'examples', total - todo.length);
  const onInterrupt = () => {
    bar.stop();
    process.stderr.write(`\ninterrupted: ${o.out} holds every finished example; rerun the same command to resume\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    let correctSoFar = 0;
    for (const [k, i] of todo.entries()) {
      const x = await data.image(i);
      const label = data.label(i);
      const began = performance.now();
      let prediction: number;
      const radius: number[] = []; // certify's column; predict has none
      if (mode === 'certify') {
        const r = await smooth.certify(x, o.n0, o.n, o.alpha, o.batch, i);
        prediction = r.prediction;
        radius.push(r.radius);
      } else {
        prediction = (await smooth.predict(x, o.n, o.alpha, o.batch, i)).prediction;
      }
      const correct = Number(prediction === label);
      correctSoFar += correct;
      log.append([i, label, prediction, ...radius, correct, elapsed(began)]);
      bar.update(total - todo.length + k + 1, { acc: `${((100 * correctSoFar) / (k + 1)).toFixed(1)}%` });
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    bar.stop();
    log.close();
  }
}

/** Duration since `began` in Python's timedelta format (H:MM:SS.ffffff), as the reference writes it. */
function elapsed(began: number): string {
  const us = Math.round((performance.now() - began) * 1000);
  const h = Math.floor(us / 3_600_000_000);
  const m = Math.floor(us / 60_000_000) % 60;
  const s = Math.floor(us / 1_000_000) % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(us % 1_000_000).padStart(6, '0')}`;
}
