import betaln from '@stdlib/math-base-special-betaln';
import { lowerConfidenceBound } from './bounds.js';

/**
 * Time-uniform confidence sequences for a Bernoulli mean p: bounds (L_t) with
 * P(∃t: L_t > p) ≤ alpha, so the bound read at a data-dependent stopping time is still a
 * (1 − alpha) lower confidence bound. CERTIFY's fixed-n Clopper–Pearson bound lacks this:
 * read at every look and stopped at the first success, its error rate grows with the looks.
 */

export const SEQUENCES = ['union-cp', 'beta-mixture'] as const;
export type SequenceName = (typeof SEQUENCES)[number];

export interface ConfidenceSequence {
  readonly name: SequenceName;
  readonly alpha: number;
  /**
   * The sample sizes after which the certifier reads the bounds: increasing, the last is the
   * budget maxN. For 'union-cp' the guarantee holds at these sizes only.
   */
  readonly looks: readonly number[];
  /** With probability ≥ 1 − alpha, lower(S_t, t) ≤ p at every look t at once (S_t: successes in t trials). */
  lower(successes: number, trials: number): number;
  /**
   * The mirror-image bound, ≥ p at every look with probability ≥ 1 − alpha. The certifier
   * uses it only to decide when to stop, which cannot harm the lower bound's guarantee.
   */
  upper(successes: number, trials: number): number;
}

/** Looks n_k = ⌈first·ratio^k⌉, k = 0, 1, …, clipped to maxN, without repeats; the last look is maxN. */
export function geometricLooks(first: number, ratio: number, maxN: number): number[] {
  if (!(Number.isInteger(first) && first >= 1 && first <= maxN))
    throw new RangeError(`the first look must be an integer in [1, maxN = ${maxN}] (got ${first})`);
  if (!(ratio > 1 && Number.isFinite(ratio))) throw new RangeError(`the look ratio must be a finite number > 1 (got ${ratio})`);
  const looks: number[] = [];
  for (let k = 0; looks.at(-1) !== maxN; k++) {
    const n = Math.min(maxN, Math.ceil(first * ratio ** k));
    if (looks.length === 0 || n > looks.at(-1)!) looks.push(n);
  }
  return looks;
}

/**
 * The union-bound sequence (Horváth et al., ICLR 2022; Voráček, NeurIPS 2024): at look k the
 * one-sided Clopper–Pearson bound at level alpha_k, with Σ_k alpha_k = alpha over the K looks up
 * to maxN, so P(∃k: L_k > p) ≤ Σ_k alpha_k = alpha (the union bound). The budget being finite,
 * no level is spent on looks that can never happen. The split is not equal: half of alpha goes to
 * the last look (maxN), half is shared by the K − 1 earlier ones. An example that needs the whole
 * budget (p_A near a threshold, or radius mode near p_A = 1) then gets Clopper–Pearson at alpha/2,
 * a radius within a fraction of a percent of fixed-n CERTIFY's at alpha, where an equal split
 * would give alpha/K; examples that stop early pay for K − 1 looks instead of K.
 */
export function unionBoundSequence(alpha: number, looks: readonly number[]): ConfidenceSequence {
  const K = looks.length;
  const alphaAt = (k: number): number => (K === 1 ? alpha : k === K - 1 ? alpha * FINAL_SHARE : (alpha * (1 - FINAL_SHARE)) / (K - 1));
  const index = new Map(looks.map((n, k) => [n, k]));
  const levelAt = (trials: number): number => {
    const k = index.get(trials);
    if (k === undefined) throw new RangeError(`the union-bound sequence holds only at its looks, and ${trials} is not one`);
    return alphaAt(k);
  };
  return {
    name: 'union-cp',
    alpha,
    looks,
    lower(successes, trials) {
      return lowerConfidenceBound(successes, trials, levelAt(trials));
    },
    upper(successes, trials) {
      return 1 - lowerConfidenceBound(trials - successes, trials, levelAt(trials));
    },
  };
}

/** The share of alpha the union-bound sequence spends on its last look (see unionBoundSequence). */
const FINAL_SHARE = 0.5;

/**
 * Lower end of the Beta-binomial mixture confidence sequence (Robbins, 1970; the conjugate
 * mixture of Waudby-Smith & Ramdas, JRSS-B 2023, and Howard et al., 2021). Under p = p0,
 *   M_t(p0) = [B(a + S_t, b + t − S_t) / B(a, b)] / [p0^S_t (1 − p0)^(t − S_t)]
 * — the Beta(a, b)-prior marginal likelihood over the likelihood at p0 — is a nonnegative
 * martingale with M_0 = 1, so by Ville's inequality P(∃t: M_t(p) ≥ 1/alpha) ≤ alpha: the set
 * {p0 : M_t(p0) < 1/alpha} covers p at every t at once, at any number of looks.
 * log M_t is decreasing on [0, S_t/t] (its derivative is −S/p0 + F/(1 − p0) < 0 there), ≤ 0 at
 * S_t/t and +∞ at 0, so the lower end is the one root there, found by bisection. The returned
 * value is the bisection's lower end, outside the set, so rounding errs on the safe side.
 */
export function betaMixtureLower(successes: number, trials: number, alpha: number, a = 1, b = 1): number {
  if (successes === 0) return 0;
  const failures = trials - successes;
  const logThreshold = -Math.log(alpha);
  const logMarginal = betaln(a + successes, b + failures) - betaln(a, b);
  const logM = (p0: number): number => logMarginal - successes * Math.log(p0) - failures * Math.log1p(-p0);
  let lo = 0;
  let hi = successes / trials;
  while (hi - lo > 1e-12) {
    const mid = (lo + hi) / 2;
    if (logM(mid) >= logThreshold) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The Beta(a, b) mixture sequence as a ConfidenceSequence. Valid at every t, so `looks` only say
 * when the certifier pauses to read it; the upper end is the lower end for the failures with the
 * prior mirrored. The uniform prior a = b = 1 is Robbins' choice.
 */
export function betaMixtureSequence(alpha: number, looks: readonly number[], a = 1, b = 1): ConfidenceSequence {
  return {
    name: 'beta-mixture',
    alpha,
    looks,
    lower: (successes, trials) => betaMixtureLower(successes, trials, alpha, a, b),
    upper: (successes, trials) => 1 - betaMixtureLower(trials - successes, trials, alpha, b, a),
  };
}

/** The named sequence at level alpha over `looks`. */
export function confidenceSequence(name: SequenceName, alpha: number, looks: readonly number[]): ConfidenceSequence {
  switch (name) {
    case 'union-cp':
      return unionBoundSequence(alpha, looks);
    case 'beta-mixture':
      return betaMixtureSequence(alpha, looks);
  }
}
