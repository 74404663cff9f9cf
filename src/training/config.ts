import { SettingError } from '../base/errors.js';
import { datasetInfo } from '../data/datasets.js';
import { architectureFor } from '../models/registry.js';
import { checkSpec, given, recordOf } from '../base/settings.js';
import { METHOD_SETTINGS, type MethodOptions } from './method-options.js';
import { TRAIN_SETTINGS, type TrainSpec } from './settings.js';

export type { TrainSpec } from './settings.js';
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

/** The spec's method options (the keys of METHOD_SETTINGS given), the rest of its settings aside. */
function methodOptionsOf(spec: TrainSpec): MethodOptions {
  return given(Object.fromEntries(Object.keys(METHOD_SETTINGS).map((k) => [k, spec[k as keyof TrainSpec]]))) as MethodOptions;
}

/** A setting with a declared default: the spec's value, else that default. */
function orDefault<K extends keyof TrainSpec>(spec: TrainSpec, key: K): NonNullable<TrainSpec[K]> {
  const value = spec[key] ?? (TRAIN_SETTINGS[key] as { default?: TrainSpec[K] }).default;
  if (value === undefined) throw new Error(`training setting ${key} has no declared default`);
  return value as NonNullable<TrainSpec[K]>;
}

/** The run a spec describes, defaults filled in and validated before anything is read or written. */
export function resolveRunConfig(spec: TrainSpec): RunConfig {
  checkSpec(TRAIN_SETTINGS, spec);
  if (spec.sigma === undefined)
    throw new SettingError('sigma', (name) => `${name('sigma')} is required: the Gaussian noise level to train with, e.g. 0.5`);
  const dataset = orDefault(spec, 'dataset');
  const info = datasetInfo(dataset);
  const arch = spec.arch ?? info.defaultArch;
  architectureFor(arch, info.shape, dataset);
  const method = orDefault(spec, 'method');
  // Only the options given: they are stored in the checkpoint and compared on resume.
  const methodOptions = methodOptionsOf(spec);
  const lrMilestones = spec.lrMilestones ?? info.schedule.lrMilestones;
  // MACER as its reference trains it (its deferred runs): λ = 0 until the first learning-rate drop.
  if (method === 'macer' && methodOptions.deferEpochs === undefined) methodOptions.deferEpochs = lrMilestones[0] ?? 0;
  createMethod(method, spec.sigma, methodOptions); // validates which options the method takes
  return {
    dataset,
    arch,
    method,
    sigma: spec.sigma,
    methodOptions,
    epochs: spec.epochs ?? info.schedule.epochs,
    batchSize: spec.batchSize ?? info.schedule.batchSize,
    lr: spec.lr ?? info.schedule.lr,
    lrMilestones,
    lrGamma: orDefault(spec, 'lrGamma'),
    momentum: orDefault(spec, 'momentum'),
    nesterov: orDefault(spec, 'nesterov'),
    weightDecay: orDefault(spec, 'weightDecay'),
    seed: orDefault(spec, 'seed'),
    evalSize: spec.evalSize ?? info.evalSize,
    ...(spec.trainSize === undefined ? {} : { trainSize: spec.trainSize }),
  };
}

/** The record of a run kept in its model's smoothcert.json: every setting that decides results, resolved. */
export function trainingRecord(
  config: RunConfig,
  resolvedMethodOptions: Readonly<Record<string, number | string>>,
): Record<string, unknown> {
  const { methodOptions: _, ...rest } = config;
  return recordOf(TRAIN_SETTINGS, { ...rest, ...resolvedMethodOptions });
}

/**
 * The settings of `spec` that contradict the run being resumed (`saved`): only the ones given
 * count, and method options compare as resolved, so an option left out equals its default.
 */
export function checkResumable(saved: RunConfig, spec: TrainSpec): void {
  const fresh = resolveRunConfig({
    ...spec,
    sigma: spec.sigma ?? saved.sigma,
    dataset: spec.dataset ?? (saved.dataset as TrainSpec['dataset']),
  });
  const resolved = (c: RunConfig) => createMethod(c.method, c.sigma, c.methodOptions).options;
  const pairs: Array<[string, unknown, unknown]> = [];
  for (const key of Object.keys(given(spec)) as Array<keyof TrainSpec>) {
    if (key in METHOD_SETTINGS) pairs.push([key, resolved(saved)[key], resolved(fresh)[key]]);
    else pairs.push([key, saved[key as keyof RunConfig], fresh[key as keyof RunConfig]]);
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
