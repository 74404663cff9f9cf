import { MAX_SIGMA } from '../noise/gaussian.js';
import { SettingError } from '../base/errors.js';
import { CONSISTENCY_FORMS } from './losses/consistency.js';
import type { MethodName, MethodOptions } from './method.js';

type Check = (v: number | string) => string | undefined;
const nonNegative: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a finite number ≥ 0');
const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a finite number > 0');
const integerAtLeast =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min ? undefined : `an integer ≥ ${min}`;

const CHECKS: Record<keyof MethodOptions, Check> = {
  numNoise: integerAtLeast(1),
  lbd: nonNegative,
  eta: nonNegative,
  form: (v) => ((CONSISTENCY_FORMS as readonly unknown[]).includes(v) ? undefined : `one of ${CONSISTENCY_FORMS.join(', ')}`),
  epsilon: nonNegative,
  numSteps: integerAtLeast(1),
  warmup: integerAtLeast(1),
  gamma: nonNegative,
  beta: positive,
  deferEpochs: integerAtLeast(0),
};

/** Defaults overridden by the given options; SettingError for an option the method does not take or a bad value. */
export function resolveOptions<O extends Record<string, number | string>>(method: MethodName, defaults: O, options: MethodOptions): O {
  const resolved: Record<string, number | string> = { ...defaults };
  for (const [key, value] of Object.entries(options) as Array<[keyof MethodOptions, number | string | undefined]>) {
    if (value === undefined) continue;
    if (!(key in defaults)) {
      throw new SettingError(
        key,
        (name) => `option ${name(key)} does not apply to method ${method} (its options: ${Object.keys(defaults).map(name).join(', ')})`,
      );
    }
    const problem = CHECKS[key](value);
    if (problem !== undefined) throw new SettingError(key, (name) => `${name(key)} must be ${problem}, got ${String(value)}`);
    resolved[key] = value;
  }
  return resolved as O;
}

/** Consistency regularization compares copies: m ≥ 2. */
export function requireTwoCopies(numNoise: number): void {
  if (numNoise < 2) {
    throw new SettingError(
      'numNoise',
      (name) => `consistency regularization needs m ≥ 2 noisy copies (the KL term vanishes at m = 1); pass ${name('numNoise')} 2 or more`,
    );
  }
}

export function checkSigma(sigma: number): number {
  if (!(Number.isFinite(sigma) && sigma >= 0 && sigma <= MAX_SIGMA)) {
    throw new SettingError('sigma', (name) => `${name('sigma')} must be a number ≥ 0 and ≤ 2^125 (x + σz finite in float32), got ${sigma}`);
  }
  return sigma;
}
