import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalCdfStdlib from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import binomialTest from '@stdlib/stats-binomial-test';

/**
 * One-sided (1 − alpha) Clopper–Pearson lower confidence bound on a binomial proportion:
 * with probability at least 1 − alpha over the draw of nA ~ Bin(n, p), the result is ≤ p.
 * It is the alpha quantile of Beta(nA, n − nA + 1), and 0 when nA = 0.
 */
export function lowerConfidenceBound(nA: number, n: number, alpha: number): number {
  checkCount('n', n, 1);
  checkCount('nA', nA, 0);
  if (nA > n) throw new RangeError(`nA must be at most n (got nA = ${nA}, n = ${n})`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1) (got ${alpha})`);
  if (nA === 0) return 0;
  return betaQuantile(alpha, nA, n - nA + 1);
}

/** Φ, the standard normal distribution function. */
export function normalCdf(z: number): number {
  return normalCdfStdlib(z, 0, 1);
}

/** Φ⁻¹, the standard normal quantile. */
export function normalInverseCdf(p: number): number {
  return normalQuantile(p, 0, 1);
}

/** p-value of the two-sided exact binomial test of `successes` out of `trials` against p = 1/2. */
export function binomialTwoSidedPValue(successes: number, trials: number): number {
  checkCount('trials', trials, 0);
  checkCount('successes', successes, 0);
  if (successes > trials) throw new RangeError(`successes must be at most trials (got ${successes} of ${trials})`);
  if (trials === 0) return 1;
  // stdlib's two-sided sum can round to just above 1 (scipy clamps too).
  return Math.min(1, binomialTest(successes, trials, { p: 0.5, alternative: 'two-sided' }).pValue);
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min} (got ${value})`);
}
