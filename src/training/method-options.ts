import { type Declarations, kinds, type SpecOf } from '../base/settings.js';
import { SettingError } from '../base/errors.js';
import { MAX_SIGMA } from '../noise/gaussian.js';
import { CONSISTENCY_FORMS } from './losses/consistency.js';
import type { MethodName } from './method.js';

/**
 * Every option a training method may take (each method takes the keys of its METHODS[name].defaults,
 * which hold the paper's values); part of the train command's settings (training/settings.ts).
 */
export const METHOD_SETTINGS = {
  lbd: {
    kind: kinds.nonNegative('<λ>'),
    help: 'weight λ of the regularizer (consistency, stability, MACER; SmoothAdv: > 0 adds consistency)',
    decides: true,
  },
  eta: {
    kind: kinds.nonNegative('<η>'),
    help: 'weight η of the entropy term of consistency regularization',
    decides: true,
    group: 'consistency',
  },
  numNoise: { kind: kinds.integer(1, 1024, '<m>'), help: 'm: noisy copies of each image per step', decides: true },
  form: {
    kind: kinds.choice(CONSISTENCY_FORMS, '<form>'),
    flag: 'consistency-loss',
    group: 'consistency',
    decides: true,
    help: 'the form of the consistency term (paper, Section 4.5)',
  },
  epsilon: { kind: kinds.nonNegative('<ε>'), help: 'L2 attack radius ε in [0, 1] pixel units', decides: true, group: 'SmoothAdv' },
  numSteps: { kind: kinds.integer(1, 1000, '<k>'), help: 'PGD steps', decides: true, group: 'SmoothAdv' },
  warmup: {
    kind: kinds.integer(1, Number.MAX_SAFE_INTEGER, '<epochs>'),
    help: 'epochs over which ε grows linearly to its value',
    decides: true,
    group: 'SmoothAdv',
  },
  gamma: { kind: kinds.nonNegative('<γ>'), help: 'hinge margin γ', decides: true, group: 'MACER' },
  beta: { kind: kinds.positive('<β>'), help: 'inverse temperature β', decides: true, group: 'MACER' },
  deferEpochs: {
    kind: kinds.integer(0, Number.MAX_SAFE_INTEGER, '<k>'),
    help: 'epochs trained with λ = 0 first',
    decides: true,
    group: 'MACER',
  },
} as const satisfies Declarations;

export type MethodOptions = SpecOf<typeof METHOD_SETTINGS>;
export type MethodOptionKey = keyof typeof METHOD_SETTINGS;

/** Defaults overridden by the given options; SettingError for an option the method does not take or a bad value. */
export function resolveOptions<O extends Record<string, number | string>>(method: MethodName, defaults: O, options: MethodOptions): O {
  const resolved: Record<string, number | string> = { ...defaults };
  for (const [key, value] of Object.entries(options) as Array<[MethodOptionKey, number | string | undefined]>) {
    if (value === undefined) continue;
    if (!(key in defaults)) {
      throw new SettingError(
        key,
        (name) => `option ${name(key)} does not apply to method ${method} (its options: ${Object.keys(defaults).map(name).join(', ')})`,
      );
    }
    const kind = METHOD_SETTINGS[key]?.kind;
    if (kind === undefined) throw new SettingError(key, (name) => `${name(key)} is not a method option`);
    if (!kind.accepts(value)) throw new SettingError(key, (name) => `${name(key)} must be ${kind.rule}, got ${String(value)}`);
    resolved[key] = value;
  }
  return resolved as O;
}

/** Consistency regularization compares copies: m ≥ 2. */
export function requireTwoCopies(numNoise: number): void {
  if (numNoise < 2) {
    throw new SettingError(
      'numNoise',
      (name) => `consistency regularization needs m ≥ 2 noisy copies (the KL term vanishes at m = 1); give ${name('numNoise')} 2 or more`,
    );
  }
}

export function checkSigma(sigma: number): number {
  if (!(Number.isFinite(sigma) && sigma >= 0 && sigma <= MAX_SIGMA)) {
    throw new SettingError('sigma', (name) => `${name('sigma')} must be a number ≥ 0 and ≤ 2^125 (x + σz finite in float32), got ${sigma}`);
  }
  return sigma;
}
