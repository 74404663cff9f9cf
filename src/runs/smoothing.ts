import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { SettingError } from '../base/errors.js';
import { loadDataset, dataFingerprint } from '../loaders/registry.js';
import { lockOutput } from '../files/lock.js';
import { outputTarget } from '../files/output-path.js';
import { ResultLog, type RunSettings } from '../files/result-log.js';
import { isOnnxPath, loadClassifier } from '../loaders/classifier.js';
import type { RunJobs } from '../queue/coordinator.js';
import { PAYLOAD_VERSION } from '../queue/job.js';
import { type AdaptivePlan, planAdaptiveSettings } from '../smoothing/adaptive.js';
import { binomialTwoSidedPValue, lowerConfidenceBound } from '../smoothing/bounds.js';
import { Smooth } from '../smoothing/smooth.js';
import { computeInOrder } from './in-order.js';
import { type CertifySpec, resolveSmoothing, type ResolvedSmoothing, settingsRecord } from './smoothing-settings.js';
import { columnsOf, exampleRow, type Row, type RowRule, type SmoothingMode } from './smoothing-rows.js';

export type { SmoothingMode } from './smoothing-rows.js';

/** A run whose counts are computed by `smoothcert worker` processes serving a BullMQ queue. */
export interface QueueRunOptions {
  /** The Redis that holds the queue, redis://HOST:PORT. */
  url: string;
  /** Noise samples per job: a phase of n samples is split into ranges of at most this many. */
  chunk: number;
}

/** The library's spec of a CERTIFY or PREDICT run: its settings (smoothing-settings.ts) and, optionally, a queue. */
export type SmoothingRunOptions = CertifySpec & { queue?: QueueRunOptions };

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
  notify?: (message: string) => void;
}

export interface SmoothingRunResult {
  done: number;
  total: number;
  interrupted: boolean;
}

/** Examples a queue run keeps in flight: enough jobs for many workers, few enough to write rows soon. */
const EXAMPLES_IN_FLIGHT = 64;

/**
 * Runs CERTIFY or PREDICT over every `skip`-th example of a dataset split below `max`,
 * appending one line per example to `out` and resuming after the last complete line. The
 * file is locked while the run writes it. Example i's noise is stream i of the seed, so a
 * resumed run gives the same results as an uninterrupted one. Bad settings are SettingErrors
 * naming the setting's key.
 */
export async function runSmoothing(
  mode: SmoothingMode,
  spec: SmoothingRunOptions,
  hooks: SmoothingHooks = {},
): Promise<SmoothingRunResult> {
  const notify = hooks.notify ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { queue: queueOptions, ...settings } = spec;
  const o = resolveSmoothing(mode, settings);
  // Checked before anything is read or written; a symlink's target is the file written.
  const out = outputTarget(o.out, 'file', 'out');
  const data = await loadDataset(o.dataset, o.split, o.dataDir === undefined ? {} : { dataDir: o.dataDir });
  const loaded = await loadClassifier(o.model, data.shape, o.dataset, { ...o.onnx, precision: o.precision, engine: o.engine, notify });
  const sigma = o.sigma ?? loaded.trainedSigma;
  if (sigma === undefined) {
    throw new SettingError(
      'sigma',
      (name) => `${name('sigma')} is required: the model ${o.model} does not record the noise level it was trained with`,
    );
  }
  const rule = rowRule(mode, o, sigma);
  const record = settingsRecord(
    mode,
    {
      ...o,
      ...o.onnx,
      sigma,
      // Adaptive runs record their plan in place of n; a fixed-n run has no adaptive settings.
      ...('plan' in rule ? adaptiveRecord(rule.plan) : { adaptive: undefined }),
      ...(mode === 'certify' ? {} : { n0: undefined }),
      // bf16 makes another base classifier; recorded only then, so fp32 files made before it resume.
      precision: o.precision === 'bf16' ? 'bf16' : undefined,
      // ONNX only; null (not given) compares equal to a file recorded before the setting existed.
      ...(isOnnxPath(o.model)
        ? { inputLayout: loaded.inputLayout ?? null, mean: o.onnx.mean ?? null, std: o.onnx.std ?? null, output: o.onnx.output ?? null }
        : {}),
    },
    { modelFingerprint: loaded.fingerprint, dataFingerprint: dataFingerprint(data) },
  );
  // A queue run connects first: an unreachable Redis fails within seconds, before any file is touched.
  // bullmq loads only for a queue run (it takes a seventh of a second to import).
  const queue =
    queueOptions &&
    (await (
      await import('../queue/coordinator.js')
    ).QueueCounts.open(
      queueOptions.url,
      { ...runJobs(mode, o, record, loaded.inputLayout, sigma), ...('plan' in rule ? { whole: true as const } : {}) },
      { chunk: queueOptions.chunk, numClasses: loaded.base.numClasses, notify, ...(hooks.signal ? { signal: hooks.signal } : {}) },
    ));
  const smooth = new Smooth(loaded.base, sigma, o.seed, hooks.signal ? { signal: hooks.signal } : {});
  let release: (() => void) | undefined;
  let log: ResultLog | undefined;
  try {
    release = lockOutput(out, 'result file', notify);
    log = ResultLog.open(out, mode, columnsOf(rule), record as RunSettings);
    const { todo, total } = examplesToDo(o, data.size, log.done);
    if (todo.length < total) notify(`resuming ${out}: ${total - todo.length} of ${total} examples already done`);
    const progress: SmoothingProgress = { done: total - todo.length, total, correct: 0, doneNow: 0 };
    hooks.onStart?.(progress);
    const file = log;
    const row = async (i: number): Promise<Row> =>
      // Adaptive looks ask for many short ranges: whole batches keep one shape (Smooth.wholeBatches).
      exampleRow(
        rule,
        queue ? queue.sampler(i) : smooth.sampler(await data.image(i), o.batch, { whole: 'plan' in rule }),
        { sigma, seed: o.seed, stream: i },
        i,
        data.label(i),
      );
    const write = (done: Row) => {
      file.append(done.cells);
      queue?.forget(done.cells[0] as number);
      progress.done++;
      progress.doneNow++;
      progress.correct += Number(done.correct);
      if (queue) progress.queue = { samples: queue.samples, workers: queue.workers };
      hooks.onExample?.(progress);
    };
    const { interrupted } = await computeInOrder(todo, queue ? EXAMPLES_IN_FLIGHT : 1, row, write, hooks.signal);
    return { done: progress.done, total, interrupted };
  } finally {
    log?.close();
    release?.();
    await queue?.close();
  }
}

/** Every skip-th example below max, and those of them the file does not hold yet. */
function examplesToDo(o: ResolvedSmoothing, size: number, done: ReadonlySet<number>): { todo: number[]; total: number } {
  const end = Math.min(size, o.max ?? Infinity);
  const todo: number[] = [];
  let total = 0;
  for (let i = 0; i < end; i += o.skip) {
    total++;
    if (!done.has(i)) todo.push(i);
  }
  return { todo, total };
}

/** What decides each row: fixed-n CERTIFY or PREDICT (an n that can answer), or adaptive CERTIFY's plan. */
function rowRule(mode: SmoothingMode, o: ResolvedSmoothing, sigma: number): RowRule {
  if (mode === 'predict') {
    refuseHopelessN(mode, o.n, o.alpha);
    return { mode, n: o.n, alpha: o.alpha };
  }
  // Checked before any file is touched; a bad option is a SettingError in the caller's words.
  if (o.adaptive) return { mode, plan: planAdaptiveSettings({ n0: o.n0, alpha: o.alpha, ...o.adaptive }, sigma) };
  refuseHopelessN(mode, o.n, o.alpha);
  return { mode, n0: o.n0, n: o.n, alpha: o.alpha };
}

/**
 * Refuses an n too small to ever answer: CERTIFY needs the lower confidence bound on p_A of n
 * votes out of n above 1/2 (Cohen et al., 2019), PREDICT a binomial p-value of n against 0 at
 * most alpha. Below that every example would abstain, whatever the model.
 */
function refuseHopelessN(mode: SmoothingMode, n: number, alpha: number): void {
  const answers = (m: number) => (mode === 'certify' ? lowerConfidenceBound(m, m, alpha) > 0.5 : binomialTwoSidedPValue(m, m) <= alpha);
  if (answers(n)) return;
  let least = n + 1;
  while (!answers(least)) least++;
  throw new SettingError(
    'n',
    (name) =>
      `${name('n')} ${n} can never ${mode === 'certify' ? 'certify' : 'predict'} at ${name('alpha')} ${alpha}: ` +
      `even ${n} votes of ${n} for one class ${mode === 'certify' ? 'bound p_A only to ≤ 1/2' : 'are not significant'}, so every example would abstain; give ${name('n')} ≥ ${least}`,
  );
}

/** What decides an adaptive run's rows, in its settings line (in place of fixed-n's n). */
function adaptiveRecord(plan: AdaptivePlan): Record<string, unknown> {
  return {
    n: undefined,
    adaptive: plan.radii === null ? 'radius' : 'decision',
    maxN: plan.maxN,
    sequence: plan.sequence.name,
    ...(plan.radii === null ? { tolerance: plan.tolerance, radii: undefined } : { radii: [...plan.radii], tolerance: undefined }),
  };
}

/** The part of every job's payload that is the run's: what the workers load, and the fingerprints they must match. */
function runJobs(
  mode: SmoothingMode,
  o: ResolvedSmoothing,
  record: Record<string, unknown>,
  inputLayout: 'nchw' | 'nhwc' | undefined,
  sigma: number,
): RunJobs {
  return {
    v: PAYLOAD_VERSION,
    // The run is its settings line: the same settings on any machine make the same jobs.
    run: createHash('sha256')
      .update(`${mode} ${JSON.stringify(record)}`)
      .digest('hex')
      .slice(0, 16),
    model: {
      path: resolve(o.model),
      fingerprint: String(record.modelFingerprint),
      ...(inputLayout ? { inputLayout } : {}),
      ...(o.onnx.mean ? { mean: o.onnx.mean } : {}),
      ...(o.onnx.std ? { std: o.onnx.std } : {}),
      ...(o.onnx.output ? { output: o.onnx.output } : {}),
      ...(o.precision === 'bf16' ? { precision: 'bf16' as const } : {}),
      ...(o.engine === 'auto' ? {} : { engine: o.engine }),
    },
    data: {
      dataset: o.dataset,
      split: o.split,
      ...(o.dataDir === undefined ? {} : { dataDir: resolve(o.dataDir) }),
      fingerprint: String(record.dataFingerprint),
    },
    sigma,
    seed: o.seed,
    batch: o.batch,
  };
}
