import { isNoiseLevel, noisyCopies, SUBSTREAM, type NoiseKey } from '../noise/gaussian.js';
import { binomialTwoSidedPValue, lowerConfidenceBound, normalInverseCdf } from './bounds.js';
import type { BaseClassifier } from './classifier.js';
import { adaptiveEstimate, planAdaptive, type AdaptiveOptions, type AdaptivePlan } from './adaptive.js';
import { yieldToEventLoop } from '../base/event-loop.js';

/** The smoothed classifier's answer when it declines to predict or certify. */
export const ABSTAIN = -1;

export interface CertifyResult {
  /** The certified class, or ABSTAIN. */
  prediction: number;
  /** Certified L2 radius sigma·Φ⁻¹(pABar); 0 on abstention. */
  radius: number;
  /** Count of the selected class among the n estimation samples. */
  nA: number;
  /** The (1 − alpha) lower confidence bound on p_A. */
  pABar: number;
}

export interface AdaptiveCertifyResult extends CertifyResult {
  /** Forward passes used: the n0 selection samples plus the estimation samples. */
  samples: number;
  /** Decision mode: the radii decided and, for each, whether x is certified at it (radius > r). */
  decisions?: { radii: number[]; certified: boolean[] };
  /** Sampling ended unsettled: the budget maxN ran out, or the caller's stop asked (adaptiveEstimate). */
  unsettled?: 'maxN' | 'stopped';
}

export interface PredictResult {
  prediction: number;
  /** Counts of the top two classes over the n samples. */
  top: [number, number];
  pValue: number;
}

/**
 * A smoothed classifier g(x) = argmax_k P(f(x + δ) = k), δ ~ N(0, σ²I) (Cohen et al., 2019).
 * Monte Carlo estimates stream through the base classifier in batches, so memory does not
 * grow with the number of samples. Noise is the seeded Philox stream of noise/gaussian.ts:
 * call `stream` s of a Smooth with seed `seed` draws the same noise on every engine.
 */
export class Smooth {
  private nextStream = 0;
  private buffer: Float32Array | null = null;
  /** The last whole batch's labels (wholeBatches), with what they were computed from. */
  private kept: { x: Float32Array; key: NoiseKey; start: number; labels: Int32Array } | undefined;

  /**
   * `signal`: aborting it stops a certify/predict call between two batches of samples with
   * signal.reason (an AbortError), so a long call (n = 100,000 on a large network) can be
   * interrupted within one batch's time.
   */
  constructor(
    readonly base: BaseClassifier,
    readonly sigma: number,
    readonly seed = 0,
    private readonly options: { signal?: AbortSignal } = {},
  ) {
    if (!isNoiseLevel(sigma)) throw new RangeError(`sigma must be > 0 and ≤ 2^125, so that x + σz stays finite in float32 (got ${sigma})`);
    if (!(base.numClasses >= 2)) throw new RangeError(`the base classifier must have at least 2 classes (got ${base.numClasses})`);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer (got ${seed})`);
  }

  /**
   * CERTIFY. With probability at least 1 − alpha over the randomness of this call, the
   * returned class is g(x) and g is constant within the returned L2 radius around x — or
   * the call abstains. ĉ is chosen from n0 samples; p_A is bounded from n fresh samples.
   * `stream` identifies the call's noise (the CLI passes the example index); by default
   * each call takes the next stream.
   */
  async certify(
    x: Float32Array,
    n0: number,
    n: number,
    alpha: number,
    batchSize: number,
    stream = this.nextStream++,
  ): Promise<CertifyResult> {
    checkCounts({ n0, n, alpha, batchSize });
    return certifyBySampling(this.sampler(x, batchSize), this.noise(stream), n0, n, alpha);
  }

  /**
   * Adaptive CERTIFY (smoothing/adaptive.ts), with CERTIFY's guarantee: with probability at least
   * 1 − alpha the returned class is g(x) and g is constant within the returned radius — or the call
   * abstains (when pABar ≤ 1/2). Estimation stops once the question in `options` is settled: each
   * of `options.radii` certified or out of reach (decision mode), or the radius within
   * `options.tolerance`·σ of what maxN samples could give (radius mode). The first n estimation
   * samples are those of `certify` with the same stream.
   */
  async certifyAdaptive(
    x: Float32Array,
    options: AdaptiveOptions & { batchSize: number },
    stream = this.nextStream++,
  ): Promise<AdaptiveCertifyResult> {
    const plan = planAdaptive(options, this.sigma);
    checkCounts({ n: plan.maxN, alpha: plan.sequence.alpha, batchSize: options.batchSize });
    return certifyAdaptiveBySampling(this.sampler(x, options.batchSize, { whole: true }), this.noise(stream), plan);
  }

  /**
   * PREDICT. With probability at least 1 − alpha over the randomness of this call, the
   * returned class equals g(x) — or the call abstains. Abstains unless the two-sided exact
   * binomial test of the top count against the runner-up rejects equality at level alpha.
   */
  async predict(x: Float32Array, n: number, alpha: number, batchSize: number, stream = this.nextStream++): Promise<PredictResult> {
    checkCounts({ n, alpha, batchSize });
    return predictBySampling(this.sampler(x, batchSize), this.noise(stream), n, alpha);
  }

  /**
   * This classifier's Monte Carlo counts for input x, in batches of `batchSize`. `whole`: every
   * batch is computed whole and its labels kept for the next range (wholeBatches below), for
   * callers that ask for many short ranges (adaptive CERTIFY's looks).
   */
  sampler(x: Float32Array, batchSize: number, options: { whole?: boolean } = {}): SampleCounts {
    checkCounts({ n: 1, alpha: 0.5, batchSize });
    return (key, offset, num) => this.sampleCounts(x, num, batchSize, key, offset, options.whole);
  }

  private noise(stream: number): SmoothingNoise {
    return { sigma: this.sigma, seed: this.seed, stream };
  }

  /**
   * counts[k] = #{ offset ≤ j < offset + num : f(x + σ z_j) = k } over the noise stream `key`.
   * `whole`: see wholeBatches.
   */
  async sampleCounts(x: Float32Array, num: number, batchSize: number, key: NoiseKey, offset = 0, whole = false): Promise<Float64Array> {
    const [h, w, c] = this.base.inputShape;
    const d = h * w * c;
    if (x.length !== d) {
      throw new RangeError(`input has ${x.length} values but the base classifier expects ${h}×${w}×${c} = ${d}`);
    }
    // A non-finite pixel makes every noisy copy non-finite: counts of such inputs certify nothing.
    if (!x.every(Number.isFinite))
      throw new RangeError('input has NaN or infinite values; noisy copies of it are not Gaussian samples around an image');
    if (whole) return this.wholeBatches(x, num, batchSize, key, offset);
    const counts = new Float64Array(this.base.numClasses);
    const { signal } = this.options;
    for (let done = 0; done < num; ) {
      // Batches start at multiples of batchSize in the noise stream, whatever range is asked for:
      // a sample is then always computed in the same batch, with the same companions and shape,
      // so ranges split across jobs and machines (queue/coordinator.ts cuts them at multiples of
      // the batch) count exactly what one process counts. Kernels may round a row differently
      // in a batch of another size, which can flip a sample near a decision boundary.
      const thisBatch = Math.min(batchSize - ((offset + done) % batchSize), num - done);
      if (this.base.countNoisy) {
        await this.base.countNoisy(x, this.sigma, key, offset + done, thisBatch, batchSize, counts);
      } else {
        const labels = await this.labelsOf(x, key, offset + done, thisBatch);
        for (let i = 0; i < thisBatch; i++) counts[labels[i]!]!++;
      }
      done += thisBatch;
      if (signal) {
        // Engines that compute synchronously never return to the event loop on their own.
        await yieldToEventLoop();
        signal.throwIfAborted();
      }
    }
    return counts;
  }

  /**
   * Counts over whole batches: each batch [kB, (k+1)B) of the stream is computed whole, whatever
   * part of it the range covers, and its labels are kept so the next range of the same stream
   * reads them instead of computing them again. Adaptive CERTIFY asks for dozens of short ranges
   * (its looks): computed as asked, each look's ends make batches of other sizes, and every new
   * size costs new oneDNN primitives and pooled buffers (2.9 GB and 4.5× slower than fixed n on
   * LeNet, measured); whole batches keep one shape, and a sample's label still depends only on
   * its batch, so a queue's jobs (cut at multiples of B) count exactly what one process counts.
   */
  private async wholeBatches(x: Float32Array, num: number, batchSize: number, key: NoiseKey, offset: number): Promise<Float64Array> {
    const counts = new Float64Array(this.base.numClasses);
    const { signal } = this.options;
    for (let at = offset; at < offset + num; ) {
      const start = at - (at % batchSize);
      const end = Math.min(start + batchSize, offset + num);
      const kept = this.kept;
      let labels: Int32Array;
      if (
        kept &&
        kept.x === x &&
        kept.start === start &&
        kept.key.seed === key.seed &&
        kept.key.stream === key.stream &&
        kept.key.substream === key.substream &&
        kept.labels.length === batchSize
      ) {
        labels = kept.labels;
      } else {
        labels = await this.labelsOf(x, key, start, batchSize);
        this.kept = { x, key: { ...key }, start, labels };
      }
      for (let j = at; j < end; j++) counts[labels[j - start]!]!++;
      at = end;
      if (signal) {
        await yieldToEventLoop();
        signal.throwIfAborted();
      }
    }
    return counts;
  }

  /** The labels f(x + σ z_(start+j)), j < size, of one batch: the engine's fast path, or noise made here and classified. */
  private async labelsOf(x: Float32Array, key: NoiseKey, start: number, size: number): Promise<Int32Array> {
    if (this.base.labelsNoisy) {
      const labels = new Int32Array(size);
      await this.base.labelsNoisy(x, this.sigma, key, start, size, labels);
      return labels;
    }
    const d = x.length;
    if (!this.buffer || this.buffer.length < size * d) this.buffer = new Float32Array(size * d);
    const batch = this.buffer.subarray(0, size * d);
    noisyCopies(batch, x, key, start, this.sigma);
    return this.base.classify(batch, size);
  }
}

/**
 * counts[k] = #{ offset ≤ j < offset + num : f(x + σ z_j) = k } for one input x, where z is the
 * noise stream `key`: all that CERTIFY and PREDICT need from the base classifier. Counts of
 * disjoint ranges add up, so any split of a range (batches, machines) gives the same counts.
 */
export type SampleCounts = (key: NoiseKey, offset: number, num: number) => Promise<Float64Array>;

/** The noise one certify/predict call draws: level σ, and stream `stream` of seed `seed`. */
export interface SmoothingNoise {
  sigma: number;
  seed: number;
  stream: number;
}

/**
 * CERTIFY from counts, however they are computed (Smooth in this process, or jobs on a queue):
 * ĉ from the n0 selection samples, the lower bound on p_A from the n estimation samples.
 */
export async function certifyBySampling(
  sample: SampleCounts,
  noise: SmoothingNoise,
  n0: number,
  n: number,
  alpha: number,
): Promise<CertifyResult> {
  checkCounts({ n0, n, alpha });
  const { sigma, seed, stream } = noise;
  const selection = await sample({ seed, stream, substream: SUBSTREAM.select }, 0, n0);
  const cAHat = argmax(selection);
  const estimation = await sample({ seed, stream, substream: SUBSTREAM.estimate }, 0, n);
  const nA = estimation[cAHat]!;
  const pABar = lowerConfidenceBound(nA, n, alpha);
  if (pABar < 0.5) return { prediction: ABSTAIN, radius: 0, nA, pABar };
  return { prediction: cAHat, radius: sigma * normalInverseCdf(pABar), nA, pABar };
}

/** Adaptive CERTIFY from counts: estimation asks for ranges look by look and stops once `plan`'s question is settled. */
export async function certifyAdaptiveBySampling(
  sample: SampleCounts,
  noise: SmoothingNoise,
  plan: AdaptivePlan,
  stop?: () => boolean,
): Promise<AdaptiveCertifyResult> {
  const { sigma, seed, stream } = noise;
  const selection = await sample({ seed, stream, substream: SUBSTREAM.select }, 0, plan.n0);
  const cAHat = argmax(selection);
  const key = { seed, stream, substream: SUBSTREAM.estimate };
  const estimate = await adaptiveEstimate(plan, async (offset, num) => (await sample(key, offset, num))[cAHat]!, stop);
  const { nA, pABar, decisions, unsettled } = estimate;
  const samples = plan.n0 + estimate.n;
  const result =
    pABar > 0.5
      ? { prediction: cAHat, radius: sigma * normalInverseCdf(pABar), nA, pABar, samples }
      : { prediction: ABSTAIN, radius: 0, nA, pABar, samples };
  return { ...result, ...(decisions && { decisions }), ...(unsettled && { unsettled }) };
}

/** PREDICT from counts: the top class of n samples unless the binomial test cannot tell it from the runner-up. */
export async function predictBySampling(sample: SampleCounts, noise: SmoothingNoise, n: number, alpha: number): Promise<PredictResult> {
  checkCounts({ n, alpha });
  const counts = await sample({ seed: noise.seed, stream: noise.stream, substream: SUBSTREAM.predict }, 0, n);
  const [c1, c2] = topTwo(counts);
  const top: [number, number] = [counts[c1]!, counts[c2]!];
  const pValue = binomialTwoSidedPValue(top[0], top[0] + top[1]);
  return { prediction: pValue > alpha ? ABSTAIN : c1, top, pValue };
}

function checkCounts(p: { n0?: number; n: number; alpha: number; batchSize?: number }): void {
  if (p.n0 !== undefined && !(Number.isInteger(p.n0) && p.n0 >= 1)) throw new RangeError(`n0 must be an integer ≥ 1 (got ${p.n0})`);
  if (!(Number.isInteger(p.n) && p.n >= 1)) throw new RangeError(`n must be an integer ≥ 1 (got ${p.n})`);
  if (!(p.alpha > 0 && p.alpha < 1)) throw new RangeError(`alpha must lie in (0, 1) (got ${p.alpha})`);
  if (p.batchSize !== undefined && !(Number.isInteger(p.batchSize) && p.batchSize >= 1))
    throw new RangeError(`batch size must be an integer ≥ 1 (got ${p.batchSize})`);
}

function argmax(v: Float64Array): number {
  let best = 0;
  for (let k = 1; k < v.length; k++) if (v[k]! > v[best]!) best = k;
  return best;
}

/** Indices of the largest and second-largest counts (lowest index first among equals). */
function topTwo(v: Float64Array): [number, number] {
  const first = argmax(v);
  let second = first === 0 ? 1 : 0;
  for (let k = 0; k < v.length; k++) if (k !== first && v[k]! > v[second]!) second = k;
  return [first, second];
}
