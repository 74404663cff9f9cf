import { SettingError } from '../base/errors.js';
import { normalCdf, normalInverseCdf } from './bounds.js';
import { confidenceSequence, geometricLooks, SEQUENCES, type ConfidenceSequence, type SequenceName } from './confidence-sequence.js';

/**
 * Adaptive CERTIFY: Cohen et al.'s (2019) CERTIFY with the fixed-n Clopper–Pearson bound
 * replaced by a time-uniform lower confidence sequence (confidence-sequence.ts), so estimation
 * can stop as soon as the question asked is settled, with the same 1 − alpha guarantee.
 *
 * Two questions. Decision mode (`radii`): is x certified at each radius? Radius mode
 * (`tolerance`): the certified radius, to within `tolerance`·σ of what the budget could give.
 */
export interface AdaptiveOptions {
  /** Selection samples that choose the class ĉ (CERTIFY's n0); default 100. */
  readonly n0?: number;
  /** Largest number of estimation samples (CERTIFY's n), ≥ n0; default 100,000. */
  readonly maxN?: number;
  /** Failure probability of the guarantee; default 0.001. */
  readonly alpha?: number;
  /** Decision mode: the L2 radii to decide; default 0, 0.25, … below the largest radius maxN can certify. */
  readonly radii?: readonly number[];
  /** Radius mode: stop when more samples cannot raise the radius by more than tolerance·σ. */
  readonly tolerance?: number;
  /** The lower confidence sequence; default 'union-cp' (fewer samples, see DEFAULT_SEQUENCE). */
  readonly sequence?: SequenceName;
  /** Size of the first look; default 100. */
  readonly firstLook?: number;
  /** Looks grow geometrically by this factor; default 1.1. */
  readonly lookRatio?: number;
}

/** What the estimation phase found; Smooth.certifyAdaptive turns it into a certify result. */
export interface AdaptiveEstimate {
  /** Count of the selected class ĉ among the estimation samples drawn. */
  nA: number;
  /** Estimation samples drawn (≤ maxN). */
  n: number;
  /** The lower confidence sequence's largest value over the looks made: a (1 − alpha) lower bound on p_A. */
  pABar: number;
  /** Decision mode: the radii decided and, for each, whether pABar > Φ(r/σ). */
  decisions?: { radii: number[]; certified: boolean[] };
  /**
   * Present when a budget decided the answer: 'maxN' when a radius was ruled out (or the radius left
   * short) only because maxN samples could not reach it, though the upper sequence says more might;
   * 'stopped' when the caller's `stop` ended sampling at a look. pABar is valid either way.
   */
  unsettled?: 'maxN' | 'stopped';
}

/** counts of ĉ among estimation samples offset, …, offset + num − 1 of one noise stream. */
export type CountSelected = (offset: number, num: number) => Promise<number>;

/**
 * The default sequence: the union bound needs fewer samples in most cases simulated (100 Bernoulli(p)
 * streams per cell, alpha = 0.001, maxN = 100,000, looks from 100 by ×1.1, half of alpha on the last
 * look; mean estimation samples; decision mode with the default radii, i.e. up to 0.75 at σ = 0.25
 * and 1.75 at σ = 0.5; `node scripts/adaptive-simulation.mjs`):
 *
 *   p                                     0.6    0.9    0.99   0.999   0.9999  1
 *   decision, σ = 0.25   union-cp         511    747    2345   85392   11172   8820
 *                        beta-mixture     504    737    2742   60058   16338   12913
 *   decision, σ = 0.5    union-cp         710    1226   5992   85596   80206   53941
 *                        beta-mixture     639    1276   6107   61036   23855   78975
 *   radius, tol. 0.1     union-cp         8664   13974  36642  67785   91800   100000
 *                        beta-mixture     9527   15249  36575  62480   71280   71796
 *
 * The mixture wins where p lies just above a threshold close to 1 (0.999 vs Φ(3) = 0.99865,
 * 0.9999 vs Φ(3.5) = 0.99977): its width shrinks with the variance p(1 − p), while the union bound
 * pays log K for its K looks. The union bound's last look at alpha/2 keeps radii that need the
 * whole budget within a fraction of a percent of fixed-n CERTIFY's, which the mixture cannot.
 */
export const DEFAULT_SEQUENCE: SequenceName = 'union-cp';

const RADIUS_STEP = 0.25;

/** Options checked and completed, ready for adaptiveEstimate. */
export interface AdaptivePlan {
  readonly n0: number;
  readonly maxN: number;
  readonly sequence: ConfidenceSequence;
  /** Decision mode: the radii, and their thresholds Φ(r/σ) on p_A; null in radius mode. */
  readonly radii: readonly number[] | null;
  readonly thresholds: readonly number[];
  /** Radius mode: the tolerance in σ units; 0 in decision mode. */
  readonly tolerance: number;
}

/** Checks the options (a RangeError names the bad one) and fills in the defaults. */
export function planAdaptive(options: AdaptiveOptions, sigma: number): AdaptivePlan {
  if (!(sigma > 0)) throw new RangeError(`sigma must be > 0 (got ${sigma})`);
  const { n0 = 100, maxN = 100_000, alpha = 0.001, sequence = DEFAULT_SEQUENCE, firstLook = 100, lookRatio = 1.1 } = options;
  if (!(Number.isInteger(n0) && n0 >= 1)) throw new RangeError(`n0 must be an integer ≥ 1 (got ${n0})`);
  if (!(Number.isSafeInteger(maxN) && maxN >= n0)) throw new RangeError(`maxN must be an integer ≥ n0 = ${n0} (got ${maxN})`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1) (got ${alpha})`);
  if (!SEQUENCES.includes(sequence)) throw new RangeError(`unknown confidence sequence '${sequence}'; use one of ${SEQUENCES.join(', ')}`);
  if (options.radii !== undefined && options.tolerance !== undefined) {
    throw new RangeError('give radii (decision mode) or tolerance (radius mode), not both');
  }
  const seq = confidenceSequence(sequence, alpha, geometricLooks(Math.min(firstLook, maxN), lookRatio, maxN));
  if (options.tolerance !== undefined) {
    const t = options.tolerance;
    if (!(t > 0 && Number.isFinite(t))) throw new RangeError(`tolerance must be a finite number > 0 (got ${t})`);
    return { n0, maxN, sequence: seq, radii: null, thresholds: [], tolerance: t };
  }
  const radii = options.radii === undefined ? defaultRadii(seq, sigma) : [...options.radii];
  if (radii.length === 0) throw new RangeError('radii must list at least one radius');
  const bad = radii.find((r) => !(r >= 0 && Number.isFinite(r)));
  if (bad !== undefined) throw new RangeError(`radii must be finite numbers ≥ 0 (got ${bad})`);
  // Sorted and once each: the same question however it is written, so a file resumes with either spelling.
  const asked = [...new Set(radii)].sort((a, b) => a - b);
  return { n0, maxN, sequence: seq, radii: asked, thresholds: asked.map((r) => normalCdf(r / sigma)), tolerance: 0 };
}

/** The options' names in planAdaptive's messages. */
const OPTION = /\b(maxN|n0|radii|tolerance|alpha|sequence)\b/g;

/**
 * planAdaptive for options that came as settings (a command's, a request's): its RangeError becomes
 * a SettingError of the option it names, so the caller's words replace the library's.
 */
export function planAdaptiveSettings(options: AdaptiveOptions, sigma: number): AdaptivePlan {
  try {
    return planAdaptive(options, sigma);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const key = new RegExp(OPTION.source).exec(e.message)?.[1] ?? 'adaptive';
    throw new SettingError(key, (name) => e.message.replace(OPTION, (k) => name(k)));
  }
}

/**
 * The table radii 0, 0.25, … below the largest radius the budget can certify, σ·Φ⁻¹ of the
 * bound after maxN successes out of maxN; at least radius 0.
 */
function defaultRadii(seq: ConfidenceSequence, sigma: number): number[] {
  const maxN = seq.looks.at(-1)!;
  const largest = sigma * normalInverseCdf(seq.lower(maxN, maxN));
  const radii = [0];
  for (let k = 1; k * RADIUS_STEP < largest; k++) radii.push(k * RADIUS_STEP);
  return radii;
}

/**
 * The estimation phase of adaptive CERTIFY, after ĉ has been chosen from n0 selection samples as
 * in CERTIFY. Estimation samples are counted in stretches ending exactly at the sequence's looks
 * (the union bound holds only there), continuing one noise stream, so the first n samples are
 * those fixed-n CERTIFY would draw. Stops when the plan's question is settled, or at maxN.
 *
 * Validity: the reported pABar is the running maximum of the lower sequence over the looks made.
 * On the event {L_t ≤ p_A at every look}, which has probability ≥ 1 − alpha, that maximum is
 * ≤ p_A whenever sampling stops. The stopping rule is therefore free to use anything — here the
 * upper sequence and a projection to the budget — without touching the guarantee.
 */
export async function adaptiveEstimate(plan: AdaptivePlan, countSelected: CountSelected, stop?: () => boolean): Promise<AdaptiveEstimate> {
  const { maxN, sequence, radii, thresholds, tolerance } = plan;
  let nA = 0;
  let n = 0;
  let pABar = 0;
  let unsettled: AdaptiveEstimate['unsettled'];
  for (const look of sequence.looks) {
    nA += await countSelected(n, look - n);
    n = look;
    pABar = Math.max(pABar, sequence.lower(nA, n));
    const reach = reachable(sequence, nA, n, maxN);
    // Decision mode: each radius certified, or ruled out. Radius mode: little left to gain.
    if (radii === null ? zGain(pABar, reach) <= tolerance : thresholds.every((tau) => pABar > tau || reach <= tau)) break;
    // A caller's budget (a deadline) may end sampling at any look: the guarantee above holds for any stopping rule.
    if (n < maxN && stop?.()) {
      unsettled = 'stopped';
      break;
    }
  }
  // The budget decided it where the upper sequence still allows what the lower one could not reach.
  const upper = sequence.upper(nA, n);
  const budgetBound =
    radii === null ? zGain(pABar, upper) > tolerance && n >= maxN : thresholds.some((tau) => !(pABar > tau) && upper > tau);
  if (unsettled === undefined && budgetBound) unsettled = 'maxN';
  const decisions = radii === null ? undefined : { radii: [...radii], certified: thresholds.map((tau) => pABar > tau) };
  return { nA, n, pABar, ...(decisions && { decisions }), ...(unsettled && { unsettled }) };
}

/**
 * An optimistic guess at the largest bound still attainable within the budget: the smaller of
 * the upper sequence (p_A itself is likely below it, and the lower sequence below p_A) and the
 * lower bound at maxN if the remaining maxN − t samples succeeded at that upper rate. Used only
 * to stop: a radius it rules out is "settled, not certified"; in radius mode, the radius it
 * allows bounds what more samples could add.
 */
function reachable(sequence: ConfidenceSequence, nA: number, t: number, maxN: number): number {
  const upper = sequence.upper(nA, t);
  return Math.min(upper, sequence.lower(Math.min(maxN, Math.ceil(nA + upper * (maxN - t))), maxN));
}

/** How far (in σ units, Φ⁻¹ scale) a bound `reach` would lift the certified radius above that of pABar. */
function zGain(pABar: number, reach: number): number {
  const z = (p: number): number => (p > 0.5 ? normalInverseCdf(p) : 0);
  return z(reach) - z(pABar);
}
