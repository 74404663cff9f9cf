import { InvalidArgumentError } from 'commander';
import { isNoiseLevel } from '../noise/gaussian.js';

/** The flag of a library setting when the two are named alike: numNoise → --num-noise. */
export function kebabFlag(setting: string): string {
  return `--${setting.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Commander option parsers that reject bad values with a message naming the rule. */
export const parse = {
  /** An integer in [min, max]; the default max is the largest integer a double holds exactly. */
  int(min: number, max = Number.MAX_SAFE_INTEGER) {
    return (value: string): number => {
      const v = Number(value);
      // Number('') is 0: an empty value (say --port '') is refused, not read as 0.
      if (value.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
        throw new InvalidArgumentError(
          `expected an integer ≥ ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` and ≤ ${max}`}, got "${value}".`,
        );
      }
      return v;
    };
  },
  /** A noise level σ: > 0 and small enough that x + σz stays finite in float32 (noise/gaussian.ts). */
  sigma(value: string): number {
    const v = Number(value);
    if (!isNoiseLevel(v))
      throw new InvalidArgumentError(`expected a noise level > 0 and ≤ 2^125 (beyond it x + σz overflows float32), got "${value}".`);
    return v;
  },
  positive(value: string): number {
    const v = Number(value);
    if (!(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`expected a number > 0, got "${value}".`);
    return v;
  },
  nonNegative(value: string): number {
    const v = Number(value);
    if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`expected a number ≥ 0, got "${value}".`);
    return v;
  },
  probability(value: string): number {
    const v = Number(value);
    if (!(v > 0 && v < 1)) throw new InvalidArgumentError(`expected a number strictly between 0 and 1, got "${value}".`);
    return v;
  },
  numbers(value: string): number[] {
    const v = value.split(',').map((s) => Number(s.trim()));
    if (v.length === 0 || v.some((x) => !Number.isFinite(x)))
      throw new InvalidArgumentError(`expected comma-separated numbers, got "${value}".`);
    return v;
  },
  /** Comma-separated radii, each a finite number ≥ 0. */
  radii(value: string): number[] {
    const v = value.split(',').map((s) => Number(s.trim()));
    if (v.some((x, i) => !Number.isFinite(x) || x < 0 || value.split(',')[i]!.trim() === '')) {
      throw new InvalidArgumentError(`expected comma-separated radii ≥ 0, got "${value}".`);
    }
    return v;
  },
  /** Comma-separated epochs (integers ≥ 0), e.g. learning-rate milestones. */
  epochs(value: string): number[] {
    const v = value.split(',').map((s) => Number(s.trim()));
    if (v.some((x) => !Number.isInteger(x) || x < 0))
      throw new InvalidArgumentError(`expected comma-separated epochs (integers ≥ 0), got "${value}".`);
    return v;
  },
};
