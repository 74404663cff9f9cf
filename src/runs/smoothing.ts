import { UserError } from '../base/errors.js';
import { PREDICT_HEADER } from '../report/predict-tsv.js';
import { yieldToEventLoop } from '../base/event-loop.js';
import { dataFingerprint, loadDataset } from '../loaders/registry.js';
import type { Split } from '../data/types.js';
import { lockOutput } from '../files/lock.js';
import { outputTarget } from '../files/output-path.js';
import { ResultLog, type RunSettings } from '../files/result-log.js';
import { ADAPTIVE_HEADER, CERTIFY_HEADER, DECISION_HEADER } from '../report/analyze.js';
import { planAdaptive, type AdaptiveOptions, type AdaptivePlan } from '../smoothing/adaptive.js';
import { binomialTwoSidedPValue, lowerConfidenceBound } from '../smoothing/bounds.js';
import type { SequenceName } from '../smoothing/confidence-sequence.js';
import {
  certifyAdaptiveBySampling,
  certifyBySampling,
  predictBySampling,
  Smooth,
  type SampleCounts,
  type SmoothingNoise,
} from '../smoothing/smooth.js';
import { QueueCounts, type RunJobs } from '../queue/coordinator.js';
import { PAYLOAD_VERSION } from '../queue/job.js';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { isOnnxPath, loadClassifier, type LoadOptions } from '../loaders/classifier.js';

export type SmoothingMode = 'certify' | 'predict';

/**
 * Adaptive CERTIFY (smoothing/adaptive.ts): estimation stops when the question is settled.
 * Decision mode with `radii` (default: the table radii the budget can reach), radius mode with
 * `tolerance`; at most `maxN` estimation samples.
 */
export interface AdaptiveRunOptions {
  radii?: number[];
  tolerance?: number;
  maxN: number;
  sequence?: SequenceName;
}

/** A run whose counts are computed by `smoothcert worker` processes serving a BullMQ queue. */
export interface QueueRunOptions {
  /** The Redis that holds the queue, redis://HOST:PORT. */
  url: string;
  /** Noise samples per job: a phase of n samples is split into ranges of at most this many. */
  chunk: number;
}

export interface SmoothingRunOptions extends LoadOptions {
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
  /** CERTIFY only: adaptive sampling instead of n fixed estimation samples (`n` is then unused). */
  adaptive?: AdaptiveRunOptions;
  /** Count on the workers of a queue instead of in this process; the file written is the same. */
  queue?: QueueRunOptions;
}

export interface SmoothingProgress {
  done: number;
  total: number;
  correct: number;
  /** Examples finished by this process (not counting a resumed file's). */
  doneNow: number;
  /** Queue runs: noise samples counted by the workers for this process, and the workers connected. */
  queue?: { samples: number; workers: number };
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

/** The TSV's columns: the reference's, plus forward passes (and the decided radii) for adaptive CERTIFY. */
function columnsOf(mode: SmoothingMode, plan: AdaptivePlan | undefined): readonly string[] {
  if (mode === 'predict') return PREDICT_HEADER;
  if (plan === undefined) return CERTIFY_HEADER;
  return plan.radii === null ? ADAPTIVE_HEADER : DECISION_HEADER;
}

/**
 * Runs CERTIFY or PREDICT over every `skip`-th example of a dataset split below `max`,
 * appending one line per example to `out` and resuming after the last complete line. The
 * file is locked while the run writes it. Example i's noise is stream i of the seed, so a
 * resumed run gives the same results as an uninterrupted one.
 */
export async function runSmoothing(mode: SmoothingMode, o: SmoothingRunOptions, hooks: SmoothingHooks = {}): Promise<SmoothingRunResult> {
  const notify = hooks.notify ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Checked before anything is read or written; a symlink's target is the file written.
  const out = outputTarget(o.out, 'file', '--out');
  if (o.split !== 'train' && o.split !== 'test') throw new UserError(`--split must be "train" or "test", got "${String(o.split)}"`);
  const data = await loadDataset(o.dataset, o.split, o.dataDir === undefined ? {} : { dataDir: o.dataDir });
  const loaded = await loadClassifier(o.model, data.shape, o.dataset, o);
  const sigma = o.sigma ?? loaded.trainedSigma;
  if (sigma === undefined)
    throw new UserError(`--sigma is required: the model ${o.model} does not record the noise level it was trained with`);
  const smooth = new Smooth(loaded.base, sigma, o.seed, hooks.signal ? { signal: hooks.signal } : {});
  const adaptive = mode === 'certify' && o.adaptive ? adaptiveOptions(o, o.adaptive) : undefined;
  const plan = adaptive && planOrExplain(adaptive, sigma, hooks.describe ?? ((k) => k));

  if (!plan) refuseHopelessN(mode, o.n, o.alpha, hooks.describe ?? ((k) => k));
  const end = Math.min(data.size, o.max ?? Infinity);
  // Everything that decides which rows are written and what they hold; the model and the data
  // by content, so the same files under another path resume. --max is not among them: a larger
  // one extends the same subset (every skip-th example) and a smaller one stops early, neither
  // mixes settings. The batch is: noise is keyed by sample index, but a kernel may round a row
  // differently in a batch of another size, so another batch can flip a sample near a decision
  // boundary and the same example would be counted two ways in one file.
  const settings: RunSettings = {
    modelFingerprint: loaded.fingerprint,
    dataset: o.dataset,
    split: o.split,
    dataFingerprint: dataFingerprint(data),
    sigma,
    seed: o.seed,
    alpha: o.alpha,
    ...(plan ? adaptiveSettings(plan) : { n: o.n }),
    ...(mode === 'certify' ? { n0: o.n0 } : {}),
    skip: o.skip,
    batch: o.batch,
    // bf16 makes another base classifier; recorded only then, so fp32 files made before it resume.
    ...(o.precision === 'bf16' ? { precision: 'bf16' } : {}),
    // output: null (the graph's only one) compares equal to a file recorded before it was a setting.
    ...(isOnnxPath(o.model)
      ? { inputLayout: loaded.inputLayout ?? null, mean: o.mean ?? null, std: o.std ?? null, output: o.output ?? null }
      : {}),
  };
  // A queue run connects first: an unreachable Redis fails within seconds, before any file is touched.
  const queue =
    o.queue &&
    (await QueueCounts.open(
      o.queue.url,
      { ...runJobs(mode, o, settings, loaded.inputLayout, sigma), ...(plan ? { whole: true as const } : {}) },
      {
        chunk: o.queue.chunk,
        numClasses: loaded.base.numClasses,
        notify,
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      },
    ));
  let release: (() => void) | undefined;
  let log: ResultLog | undefined;
  try {
    release = lockOutput(out, 'result file', notify);
    log = ResultLog.open(out, mode, columnsOf(mode, plan), settings, hooks.describe);
    const todo: number[] = [];
    let total = 0;
    for (let i = 0; i < end; i += o.skip) {
      total++;
      if (!log.done.has(i)) todo.push(i);
    }
    if (todo.length < total) notify(`resuming ${out}: ${total - todo.length} of ${total} examples already done`);
    const progress: SmoothingProgress = { done: total - todo.length, total, correct: 0, doneNow: 0 };
    hooks.onStart?.(progress);

    /** Example i's row; rejects when interrupted between two batches (or while waiting for workers): it is redone on resume. */
    const row = async (i: number): Promise<{ cells: (string | number)[]; correct: boolean }> => {
      const began = performance.now();
      // Adaptive looks ask for many short ranges: whole batches keep one shape (Smooth.wholeBatches).
      const sample: SampleCounts = queue ? queue.sampler(i) : smooth.sampler(await data.image(i), o.batch, { whole: plan !== undefined });
      const noise: SmoothingNoise = { sigma, seed: o.seed, stream: i };
      const label = data.label(i);
      let cells: (string | number)[]; // the columns between label and time
      if (plan) {
        const r = await certifyAdaptiveBySampling(sample, noise, plan);
        cells = [r.prediction, r.radius, Number(r.prediction === label), r.samples, ...(r.decisions ? [certifiedRadii(r.decisions)] : [])];
      } else if (mode === 'certify') {
        const r = await certifyBySampling(sample, noise, o.n0, o.n, o.alpha);
        cells = [r.prediction, r.radius, Number(r.prediction === label)];
      } else {
        const r = await predictBySampling(sample, noise, o.n, o.alpha);
        cells = [r.prediction, Number(r.prediction === label)];
      }
      return { cells: [i, label, ...cells, elapsed(began)], correct: cells[0] === label };
    };

    // Examples are computed up to `most` at a time (a queue keeps its workers busy that way)
    // and written in example order, so the file is the single-process file whatever finishes first.
    const most = queue ? EXAMPLES_IN_FLIGHT : 1;
    const inFlight: Promise<Awaited<ReturnType<typeof row>>>[] = [];
    let next = 0;
    while (next < todo.length || inFlight.length > 0) {
      // A safe point: every finished example's line is on disk.
      await yieldToEventLoop();
      if (hooks.signal?.aborted) return { done: progress.done, total, interrupted: true };
      while (inFlight.length < most && next < todo.length) {
        const started = row(todo[next++]!);
        started.catch(() => undefined); // awaited in order below; not an unhandled rejection meanwhile
        inFlight.push(started);
      }
      let done: Awaited<ReturnType<typeof row>>;
      try {
        done = await inFlight.shift()!;
      } catch (e) {
        if (hooks.signal?.aborted) return { done: progress.done, total, interrupted: true };
        throw e;
      }
      log.append(done.cells);
      queue?.forget(done.cells[0] as number);
      progress.done++;
      progress.doneNow++;
      progress.correct += Number(done.correct);
      if (queue) progress.queue = { samples: queue.samples, workers: queue.workers };
      hooks.onExample?.(progress);
    }
    return { done: progress.done, total, interrupted: false };
  } finally {
    log?.close();
    release?.();
    await queue?.close();
  }
}

/**
 * Refuses an n too small to ever answer: CERTIFY needs the lower confidence bound on p_A of n
 * votes out of n above 1/2 (Cohen et al., 2019), PREDICT a binomial p-value of n against 0 at
 * most alpha. Below that every example would abstain, whatever the model.
 */
function refuseHopelessN(mode: SmoothingMode, n: number, alpha: number, describe: (k: string) => string): void {
  const answers = (m: number) => (mode === 'certify' ? lowerConfidenceBound(m, m, alpha) > 0.5 : binomialTwoSidedPValue(m, m) <= alpha);
  if (answers(n)) return;
  let least = n + 1;
  while (!answers(least)) least++;
  throw new UserError(
    `${describe('n')} ${n} can never ${mode === 'certify' ? 'certify' : 'predict'} at ${describe('alpha')} ${alpha}: ` +
      `even ${n} votes of ${n} for one class ${mode === 'certify' ? 'bound p_A only to ≤ 1/2' : 'are not significant'}, so every example would abstain; give ${describe('n')} ≥ ${least}`,
  );
}

/** Examples a queue run keeps in flight: enough jobs for many workers, few enough to write rows soon. */
const EXAMPLES_IN_FLIGHT = 64;

/** The part of every job's payload that is the run's: what the workers load, and the fingerprints they must match. */
function runJobs(
  mode: SmoothingMode,
  o: SmoothingRunOptions,
  settings: RunSettings,
  inputLayout: 'nchw' | 'nhwc' | undefined,
  sigma: number,
): RunJobs {
  return {
    v: PAYLOAD_VERSION,
    // The run is its settings line: the same settings on any machine make the same jobs.
    run: createHash('sha256')
      .update(`${mode} ${JSON.stringify(settings)}`)
      .digest('hex')
      .slice(0, 16),
    model: {
      path: resolve(o.model),
      fingerprint: String(settings.modelFingerprint),
      ...(inputLayout ? { inputLayout } : {}),
      ...(o.mean ? { mean: o.mean } : {}),
      ...(o.std ? { std: o.std } : {}),
      ...(o.output ? { output: o.output } : {}),
      ...(o.precision === 'bf16' ? { precision: 'bf16' as const } : {}),
    },
    data: {
      dataset: o.dataset,
      split: o.split,
      ...(o.dataDir === undefined ? {} : { dataDir: resolve(o.dataDir) }),
      fingerprint: String(settings.dataFingerprint),
    },
    sigma,
    seed: o.seed,
    batch: o.batch,
  };
}

/** Duration since `began` in Python's timedelta format (H:MM:SS.ffffff), as the reference writes it. */
function elapsed(began: number): string {
  const us = Math.round((performance.now() - began) * 1000);
  const h = Math.floor(us / 3_600_000_000);
  const m = Math.floor(us / 60_000_000) % 60;
  const s = Math.floor(us / 1_000_000) % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(us % 1_000_000).padStart(6, '0')}`;
}

/** The library's options for adaptive CERTIFY from the run's. */
function adaptiveOptions(o: SmoothingRunOptions, a: AdaptiveRunOptions): AdaptiveOptions {
  return {
    n0: o.n0,
    maxN: a.maxN,
    alpha: o.alpha,
    ...(a.radii ? { radii: a.radii } : {}),
    ...(a.tolerance === undefined ? {} : { tolerance: a.tolerance }),
    ...(a.sequence ? { sequence: a.sequence } : {}),
  };
}

/** The plan, checked before any file is touched; a bad option becomes a one-line user error. */
function planOrExplain(options: AdaptiveOptions, sigma: number, describe: (setting: string) => string): AdaptivePlan {
  try {
    return planAdaptive(options, sigma);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    // The library names its options (maxN, radii, …); say them as the caller does.
    throw new UserError(e.message.replace(/\b(maxN|n0|radii|tolerance|alpha|sequence)\b/g, (k) => describe(k)));
  }
}

/** What decides an adaptive run's rows, in its settings line (in place of fixed-n's n). */
function adaptiveSettings(plan: AdaptivePlan): RunSettings {
  return {
    adaptive: plan.radii === null ? 'radius' : 'decision',
    maxN: plan.maxN,
    sequence: plan.sequence.name,
    ...(plan.radii === null ? { tolerance: plan.tolerance } : { radii: [...plan.radii] }),
  };
}

/** The decision-mode column: the radii certified, comma-separated, or '-' for none. */
function certifiedRadii(d: { radii: number[]; certified: boolean[] }): string {
  const list = d.radii.filter((_, k) => d.certified[k]);
  return list.length === 0 ? '-' : list.join(',');
}
