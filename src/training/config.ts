import { SettingError } from '../base/errors.js';
import { datasetInfo } from '../data/datasets.js';
import { architectureFor } from '../models/registry.js';
import type { MethodOptions } from './method.js';
import { createMethod } from './methods.js';
import type { TrainerConfig } from './trainer.js';

/** Everything that defines a training run; kept in its checkpoint so a resumed run needs no settings. */
export interface RunConfig extends TrainerConfig {
  dataset: string;
  arch: string;
  method: string;
  sigma: number;
  methodOptions: MethodOptions;
  trainSize?: number;
  evalSize: number;
}

/**
 * What a user asks for: σ and the dataset, and whatever else differs from the paper's settings
 * (undefined = the default: the dataset's schedule and architecture, the method's defaults).
 */
export interface TrainSpec {
  dataset?: string;
  sigma?: number;
  arch?: string;
  method?: string;
  methodOptions?: MethodOptions;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  lrMilestones?: number[];
  lrGamma?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  seed?: number;
  trainSize?: number;
  evalSize?: number;
}

/** The loop's defaults beyond the dataset's schedule (paper, Supplementary A.1). */
export const TRAIN_DEFAULTS = {
  dataset: 'fashion-mnist',
  method: 'consistency',
  lrGamma: 0.1,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 1e-4,
  seed: 0,
} as const;

/** The run a spec describes, defaults filled in and validated before anything is read or written. */
export function resolveRunConfig(spec: TrainSpec): RunConfig {
  if (spec.sigma === undefined)
    throw new SettingError('sigma', (name) => `${name('sigma')} is required: the Gaussian noise level to train with, e.g. 0.5`);
  const dataset = spec.dataset ?? TRAIN_DEFAULTS.dataset;
  const info = datasetInfo(dataset);
  const arch = spec.arch ?? info.defaultArch;
  architectureFor(arch, info.shape, dataset);
  const method = spec.method ?? TRAIN_DEFAULTS.method;
  // Only the options given: they are stored in the checkpoint and compared on resume.
  const methodOptions = Object.fromEntries(Object.entries(spec.methodOptions ?? {}).filter(([, v]) => v !== undefined)) as MethodOptions;
  const lrMilestones = spec.lrMilestones ?? info.schedule.lrMilestones;
  // MACER as its reference trains it (--deferred): λ = 0 until the first learning-rate drop.
  if (method === 'macer' && methodOptions.deferEpochs === undefined) methodOptions.deferEpochs = lrMilestones[0] ?? 0;
  createMethod(method, spec.sigma, methodOptions); // validates the method's options
  const config: RunConfig = {
    dataset,
    arch,
    method,
    sigma: spec.sigma,
    methodOptions,
    epochs: spec.epochs ?? info.schedule.epochs,
    batchSize: spec.batchSize ?? info.schedule.batchSize,
    lr: spec.lr ?? info.schedule.lr,
    lrMilestones,
    lrGamma: spec.lrGamma ?? TRAIN_DEFAULTS.lrGamma,
    momentum: spec.momentum ?? TRAIN_DEFAULTS.momentum,
    nesterov: spec.nesterov ?? TRAIN_DEFAULTS.nesterov,
    weightDecay: spec.weightDecay ?? TRAIN_DEFAULTS.weightDecay,
    seed: spec.seed ?? TRAIN_DEFAULTS.seed,
    evalSize: spec.evalSize ?? info.evalSize,
    ...(spec.trainSize === undefined ? {} : { trainSize: spec.trainSize }),
  };
  checkLoop(config);
  return config;
}

function checkLoop(c: RunConfig): void {
  const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
  const finite = (v: number, min: number) => Number.isFinite(v) && v >= min;
  const problems: Array<[string, boolean, string]> = [
    ['epochs', positiveInt(c.epochs), 'an integer ≥ 1'],
    ['batchSize', positiveInt(c.batchSize), 'an integer ≥ 1'],
    ['lr', finite(c.lr, 0) && c.lr > 0, 'a finite number > 0'],
    // Increasing: an unsorted or repeated list would be recorded as given and mean something else on resume.
    [
      'lrMilestones',
      c.lrMilestones.every((m, i) => Number.isInteger(m) && m >= 0 && (i === 0 || m > c.lrMilestones[i - 1]!)),
      'an increasing list of epochs, integers ≥ 0',
    ],
    ['lrGamma', finite(c.lrGamma, 0) && c.lrGamma > 0, 'a finite number > 0'],
    ['momentum', finite(c.momentum, 0), 'a finite number ≥ 0'],
    ['weightDecay', finite(c.weightDecay, 0), 'a finite number ≥ 0'],
    ['seed', Number.isSafeInteger(c.seed) && c.seed >= 0, 'an integer in [0, 2^53)'],
    ['evalSize', positiveInt(c.evalSize), 'an integer ≥ 1'],
    ['trainSize', c.trainSize === undefined || positiveInt(c.trainSize), 'an integer ≥ 1'],
  ];
  for (const [key, ok, what] of problems) {
    if (!ok) throw new SettingError(key, (name) => `${name(key)} must be ${what}, got ${JSON.stringify(c[key as keyof RunConfig])}`);
  }
}

/**
 * The settings of `spec` that contradict the run being resumed (`saved`): only the ones given
 * count, and method options compare as resolved, so an option left out equals its default.
 */
export function checkResumable(saved: RunConfig, spec: TrainSpec): void {
  const fresh = resolveRunConfig({ ...spec, sigma: spec.sigma ?? saved.sigma, dataset: spec.dataset ?? saved.dataset });
  const resolved = (c: RunConfig) => createMethod(c.method, c.sigma, c.methodOptions).options;
  const pairs: Array<[string, unknown, unknown]> = [];
  for (const key of Object.keys(spec) as Array<keyof TrainSpec>) {
    if (spec[key] === undefined) continue;
    if (key === 'methodOptions') {
      for (const [option, value] of Object.entries(spec.methodOptions ?? {})) {
        if (value !== undefined) pairs.push([option, resolved(saved)[option], resolved(fresh)[option]]);
      }
    } else {
      pairs.push([key, saved[key as keyof RunConfig], fresh[key as keyof RunConfig]]);
    }
  }
  for (const [key, a, b] of pairs) {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new SettingError(
        key,
        (name) =>
          `the run was started with ${name(key)} ${JSON.stringify(a)}, not ${JSON.stringify(b)}; ` +
          'resume without that setting (the run keeps its own) or start a new run elsewhere',
      );
    }
  }
}
