import { InvalidArgumentError } from 'commander';

/** Commander option parsers that reject bad values with a message naming the rule. */
export const parse = {
  int(min: number) {
    return (value: string): number => {
      const v = Number(value);
      if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got "${value}".`);
      return v;
    };
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
    if (v.length === 0 || v.some((x) => !Number.isFinite(x))) throw new InvalidArgumentError(`expected comma-separated numbers, got "${value}".`);
    return v;
  },
};
