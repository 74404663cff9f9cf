/** Equal-width bins over [lo, hi], the last one closed, and the count of values in each. */
export interface Histogram {
  readonly lo: number;
  readonly hi: number;
  /** counts[b] = #{ v : lo + b·w ≤ v < lo + (b + 1)·w }, the last bin including hi; w = (hi − lo) / bins. */
  readonly counts: readonly number[];
}

/** The smallest and largest of several sets of values: shared bin edges make histograms comparable. */
export function commonRange(sets: readonly ArrayLike<number>[]): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of sets) {
    for (let i = 0; i < values.length; i++) {
      lo = Math.min(lo, values[i]!);
      hi = Math.max(hi, values[i]!);
    }
  }
  if (!(lo <= hi)) throw new RangeError('a histogram needs at least one value');
  // A single repeated value still gets a bin of positive width.
  return lo === hi ? { lo: lo - 0.5, hi: hi + 0.5 } : { lo, hi };
}

export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number): Histogram {
  if (!(Number.isInteger(bins) && bins >= 1)) throw new RangeError(`bins must be an integer ≥ 1 (got ${bins})`);
  if (!(hi > lo)) throw new RangeError(`the range must have hi > lo (got ${lo}, ${hi})`);
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= lo && v <= hi)) throw new RangeError(`value ${v} lies outside [${lo}, ${hi}]`);
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
  }
  return { lo, hi, counts };
}
