import { UserError } from '../errors.js';
import { yieldToEventLoop } from '../event-loop.js';
import { dataFingerprint, loadDataset } from '../data/registry.js';
import type { Split } from '../data/types.js';
import { lockOutput } from '../files/lock.js';
import { ResultLog, type RunSettings } from '../files/result-log.js';
import { Smooth } from '../smoothing/smooth.js';
import { isOnnxPath, loadClassifier, type OnnxInputOptions } from './load-classifier.js';

export type SmoothingMode = 'certify' | 'predict';

export interface SmoothingRunOptions extends OnnxInputOptions {
  dataset: string;
  split: Split;
  dataDir?: string;
  /** A smoothcert model folder or an .onnx file. */
  model: string;
  /** Default: the σ the model records. */
  sigma?: number;
  n0: number;
  n: number;
  alpha: number;
  batch: number;
  skip: number;
  max?: number;
  seed: number;
  out: string;
}

export interface SmoothingProgress {
  done: number;
  total: number;
  correct: number;
  /** Examples finished by this process (not counting a resumed file's). */
  doneNow: number;
}

export interface SmoothingHooks {
  /** Aborting stops the run before the next example; every finished one is on disk. */
  signal?: AbortSignal;
  onStart?: (p: SmoothingProgress) => void;
  onExample?: (p: SmoothingProgress) => void;
  /** Names a setting in the caller's words for messages (the CLI's flags). */
  describe?: (setting: string) => string;
  notify?: (message: string) => void;
}

export interface SmoothingRunResult {
  done: number;
  total: number;
  interrupted: boolean;
}

const COLUMNS = {
  certify: ['idx', 'label', 'predict', 'radius', 'correct', 'time'],
  predict: ['idx', 'label', 'predict', 'correct', 'time'],
} as const;

/**
 * Runs CERTIFY or PREDICT over every `skip`-th example of a dataset split below `max`,
 * appending one line per example to `out` and resuming after the last complete line. The
 * file is locked while the run writes it. Example i's noise is stream i of the seed, so a
 * resumed run gives the same results as an uninterrupted one.
 */
export async function runSmoothing(mode: SmoothingMode, o: SmoothingRunOptions, hooks: SmoothingHooks = {}): Promise<SmoothingRunResult> {
  const notify = hooks.notify ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (o.split !== 'train' && o.split !== 'test') throw new UserError(`--split must be "train" or "test", got "${String(o.split)}"`);
  const data = await loadDataset(o.dataset, o.split, o.dataDir === undefined ? {} : { dataDir: o.dataDir });
  const loaded = await loadClassifier(o.model, data.shape, o.dataset, o);
  const sigma = o.sigma ?? loaded.trainedSigma;
  if (sigma === undefined) throw new UserError(`--sigma is required: the model ${o.model} does not record the noise level it was trained with`);
  const smooth = new Smooth(loaded.base, sigma, o.seed, hooks.signal ? { signal: hooks.signal } : {});

  const end = Math.min(data.size, o.max ?? Infinity);
  // Everything that decides which rows are written and what they hold; the model and the data
  // by content, so the same files under another path resume. --max is not among them: a larger
  // one extends the same subset (every skip-th example) and a smaller one stops early, neither
  // mixes settings. --batch is not either: noise is keyed by sample index, not by batch.
  const settings: RunSettings = {
    modelFingerprint: loaded.fingerprint, dataset: o.dataset, split: o.split, dataFingerprint: dataFingerprint(data),
    sigma, seed: o.seed, alpha: o.alpha, n: o.n, ...(mode === 'certify' ? { n0: o.n0 } : {}), skip: o.skip,
    ...(isOnnxPath(o.model) ? { inputLayout: loaded.inputLayout ?? null, mean: o.mean ?? null, std: o.std ?? null } : {}),
  };
  const release = lockOutput(o.out, 'result file', notify);
  const log = (() => {
    try {
      return ResultLog.open(o.out, mode, COLUMNS[mode], settings, hooks.describe);
    } catch (e) {
      release();
      throw e;
    }
  })();
  try {
    const todo: number[] = [];
    let total = 0;
    for (let i = 0; i < end; i += o.skip) {
      total++;
      if (!log.done.has(i)) todo.push(i);
    }
    if (todo.length < total) notify(`resuming ${o.out}: ${total - todo.length} of ${total} examples already done`);
    const progress: SmoothingProgress = { done: total - todo.length, total, correct: 0, doneNow: 0 };
    hooks.onStart?.(progress);
    for (const i of todo) {
      // A safe point: the previous example's line is on disk.
      await yieldToEventLoop();
      if (hooks.signal?.aborted) return { done: progress.done, total, interrupted: true };
      const x = await data.image(i);
      const label = data.label(i);
      const began = performance.now();
      let prediction: number;
      const radius: number[] = []; // certify's column; predict has none
      try {
        if (mode === 'certify') {
          const r = await smooth.certify(x, o.n0, o.n, o.alpha, o.batch, i);
          prediction = r.prediction;
          radius.push(r.radius);
        } else {
          prediction = (await smooth.predict(x, o.n, o.alpha, o.batch, i)).prediction;
        }
      } catch (e) {
        // Interrupted between two batches of this example: it is redone on resume.
        if (hooks.signal?.aborted) return { done: progress.done, total, interrupted: true };
        throw e;
      }
      const correct = Number(prediction === label);
      log.append([i, label, prediction, ...radius, correct, elapsed(began)]);
      progress.done++;
      progress.doneNow++;
      progress.correct += correct;
      hooks.onExample?.(progress);
    }
    return { done: progress.done, total, interrupted: false };
  } finally {
    log.close();
    release();
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
