import { SettingError } from '../base/errors.js';
import { datasetInfo } from '../data/datasets.js';
import { architectureFor } from '../models/registry.js';
import { checkSpec, given, recordOf, withDefaults } from '../base/settings.js';
import { METHOD_SETTINGS, type MethodOptions } from './method-options.js';
import { createMethod } from './methods.js';
import { TRAIN_SETTINGS, type TrainSpec } from './settings.js';
import type { TrainerConfig } from './trainer.js';

export type { TrainSpec } from './settings.js';

type MethodOptionKey = keyof typeof METHOD_SETTINGS;
/** The run's settings beyond the method's options, each resolved (trainSize stays optional: all of the split). */
type LoopSettings = { [K in Exclude<keyof TrainSpec, MethodOptionKey | 'trainSize'>]-?: NonNullable<TrainSpec[K]> } & {
  trainSize?: number;
};

/** Everything that defines a training run; kept in its checkpoint so a resumed run needs no settings. */
export type RunConfig = TrainerConfig &
  LoopSettings & {
    /** Only the options given (the method fills in its own defaults): compared as given on resume. */
    methodOptions: MethodOptions;
  };

/** The spec's method options (the keys of METHOD_SETTINGS given), the rest of its settings aside. */
function methodOptionsOf(spec: TrainSpec): MethodOptions {
  return given(Object.fromEntries(Object.keys(METHOD_SETTINGS).map((k) => [k, spec[k as keyof TrainSpec]]))) as MethodOptions;
}

/**
 * The run a spec describes, defaults filled in and validated before anything is read or written:
 * each setting is the spec's value, else its declared default, else the dataset's (the paper's
 * schedule and architecture for it); so a new setting with a default needs no line here.
 */
export function resolveRunConfig(spec: TrainSpec): RunConfig {
  checkSpec(TRAIN_SETTINGS, spec);
  if (spec.sigma === undefined)
    throw new SettingError('sigma', (name) => `${name('sigma')} is required: the Gaussian noise level to train with, e.g. 0.5`);
  const filled = withDefaults(TRAIN_SETTINGS, spec);
  const info = datasetInfo(filled.dataset);
  const byDataset: Partial<Record<keyof TrainSpec, unknown>> = {
    arch: info.defaultArch,
    evalSize: info.evalSize,
    ...info.schedule,
  };
  const loop: Record<string, unknown> = {};
  for (const key of Object.keys(TRAIN_SETTINGS) as (keyof TrainSpec)[]) {
    if (key in METHOD_SETTINGS) continue;
    const value = filled[key] ?? byDataset[key];
    if (value !== undefined) loop[key] = value;
  }
  const config = { ...(loop as LoopSettings), methodOptions: methodOptionsOf(spec) };
  architectureFor(config.arch, info.shape, config.dataset);
  // MACER as its reference trains it (its deferred runs): λ = 0 until the first learning-rate drop.
  if (config.method === 'macer' && config.methodOptions.deferEpochs === undefined) {
    config.methodOptions.deferEpochs = config.lrMilestones[0] ?? 0;
  }
  createMethod(config.method, config.sigma, config.methodOptions); // validates which options the method takes
  return config;
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
