import { createHash } from 'node:crypto';
import { SettingError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';
import { SUBSTREAM } from '../noise/gaussian.js';
import { planAdaptiveSettings } from '../smoothing/adaptive.js';
import type { BaseClassifier } from '../smoothing/classifier.js';
import { ABSTAIN, certifyAdaptiveBySampling, certifyBySampling, predictBySampling, type SampleCounts } from '../smoothing/smooth.js';
import type { QueueCounts } from '../queue/coordinator.js';
import { inputSource } from '../queue/job.js';
import { SampleBatcher } from './batcher.js';
import { decodePng } from './png.js';
import { type CertifyRequest, type CheckedRequest, checkRequest, type ImageInput, type PredictRequest } from './request.js';

/**
 * The noise stream of every request: a request has no example index, so its noise is the stream
 * of this index under the request's seed, and the same image, seed and settings always draw the
 * same noise, alone or among other requests.
 */
export const REQUEST_STREAM = 0;

/** What a certified prediction service answers. */
export interface Answer {
  /** The smoothed classifier's class, or null when it abstains. */
  prediction: number | null;
  /** Decision mode (a radius asked): whether g is certified robust at that L2 radius. */
  certified?: boolean;
  /** The certified L2 radius σ·Φ⁻¹(pABar) (0 when abstaining); predict: absent. */
  radius?: number;
  /** The (1 − alpha) lower confidence bound on p_A; predict: absent. */
  pABar?: number;
  /** Predict: the binomial test's p-value of the top two counts. */
  pValue?: number;
  /** Forward passes spent on this request. */
  samples: number;
  /** Wall time of the request in milliseconds. */
  ms: number;
  /** Present when a budget ended sampling before the question was settled: maxN or the deadline. */
  budgetExhausted?: 'maxN' | 'deadline';
}

export interface CertifierOptions {
  /** The noise level σ of the smoothed classifier. */
  sigma: number;
  /** Rows per forward batch shared by all requests (default 1000). */
  batch?: number;
  /**
   * Count on `smoothcert worker` processes instead of this process: the queue's coordinator, opened
   * with the model's payload (its seed and run are each request's), and the samples per job.
   */
  queue?: { counts: QueueCounts; chunk: number };
}

/** The smoothed classifier's model, as `GET /v1/model` tells it. */
export interface ModelInfo {
  arch?: string;
  dataset?: string;
  sigma: number;
  inputShape: ImageShape;
  numClasses: number;
  classNames?: string[];
}

export interface Certifier {
  readonly info: ModelInfo;
  /** PREDICT (Cohen et al., 2019): the top class of n votes unless the binomial test cannot tell it from the runner-up. */
  predict(request: PredictRequest): Promise<Answer>;
  /** Adaptive CERTIFY (smoothing/adaptive.ts): decision at `radius`, else the radius to within `tolerance`·σ. */
  certify(request: CertifyRequest): Promise<Answer>;
  /** One function for both questions: `question` says which. */
  answer(request: ({ question: 'predict' } & PredictRequest) | ({ question: 'certify' } & CertifyRequest)): Promise<Answer>;
  /** Forward passes and batches run so far, for the service's statistics. */
  stats(): { forwardPasses: number; batches: number };
}

/**
 * A certified prediction service over one base classifier: each request keeps its own noise
 * stream (REQUEST_STREAM under its seed) while the samples of concurrent requests share forward
 * batches (SampleBatcher), so an answer never depends on what else was in flight. Budgets: maxN
 * samples and a deadline; a request that runs out answers with what it has and says so.
 */
export function createCertifier(
  base: BaseClassifier,
  options: CertifierOptions,
  about: { arch?: string; dataset?: string; classNames?: string[] } = {},
): Certifier {
  const batcher = new SampleBatcher(base, options.sigma, options.batch ?? 1000);
  const sigma = options.sigma;
  const info: ModelInfo = { ...about, sigma, inputShape: base.inputShape, numClasses: base.numClasses };
  /** A request's samples: here in shared batches, or on the queue's workers, with the input in each job. */
  const samplerFor = (x: Float32Array, seed: number, late?: () => boolean): { sample: SampleCounts; release: () => void } => {
    const queue = options.queue;
    if (queue === undefined) return { sample: spans(batcher, x, base.numClasses, late), release: () => undefined };
    const input = inputSource(x, base.inputShape);
    // The request's run id: identical requests make identical jobs, which the queue computes once.
    const run = createHash('sha256')
      .update(JSON.stringify([sigma, seed, batcher.batch, input.fingerprint]))
      .digest('hex')
      .slice(0, 16);
    const counts = queue.counts.sampler(REQUEST_STREAM, { run, seed, input });
    const sample: SampleCounts = async (key, offset, num) => {
      const total = new Float64Array(base.numClasses);
      for (let done = 0; done < num; ) {
        if (done > 0 && late?.()) break;
        const size = Math.min(queue.chunk, num - done);
        (await counts(key, offset + done, size)).forEach((c, k) => {
          total[k]! += c;
        });
        done += size;
      }
      return total;
    };
    return { sample, release: () => queue.counts.forget(REQUEST_STREAM, run) };
  };

  /**
   * Fixed-n CERTIFY (Cohen et al., 2019) on the request's stream. The deadline may cut the n
   * estimation samples short; the Clopper–Pearson bound then runs on the m drawn, still valid since
   * when to stop depends on the clock only, never on the votes.
   */
  const fixedN = async (r: CheckedRequest & { fixedN: number }, began: number): Promise<Answer> => {
    const deadline = began + r.deadlineMs;
    const noise = { sigma, seed: r.seed, stream: REQUEST_STREAM };
    const { sample, release } = samplerFor(r.x, r.seed, () => performance.now() >= deadline);
    try {
      const selection = await sample({ seed: r.seed, stream: REQUEST_STREAM, substream: SUBSTREAM.select }, 0, r.n0);
      const estimation = await sample({ seed: r.seed, stream: REQUEST_STREAM, substream: SUBSTREAM.estimate }, 0, r.fixedN);
      const drawn = estimation.reduce((sum, c) => sum + c, 0);
      const counts: SampleCounts = async (key) => (key.substream === SUBSTREAM.select ? selection : estimation);
      const result = await certifyBySampling(counts, noise, r.n0, drawn, r.alpha);
      return {
        prediction: result.prediction === ABSTAIN ? null : result.prediction,
        ...(r.radius === undefined ? {} : { certified: result.radius > r.radius }),
        radius: result.radius,
        pABar: result.pABar,
        samples: r.n0 + drawn,
        ms: performance.now() - began,
        ...(drawn < r.fixedN ? { budgetExhausted: 'deadline' as const } : {}),
      };
    } finally {
      release();
    }
  };

  const certifier: Certifier = {
    info,
    answer: ({ question, ...request }) =>
      question === 'predict' ? certifier.predict(request as PredictRequest) : certifier.certify(request as CertifyRequest),
    stats: () => ({ forwardPasses: batcher.forwardPasses, batches: batcher.batches }),

    async predict(request) {
      const began = performance.now();
      const r = checkRequest(await withImage(request, base.inputShape), base.inputShape, 'predict');
      const deadline = began + r.deadlineMs;
      // The votes end early at the deadline; the test then runs on the votes so far, which is valid:
      // when to stop depends on the clock only, never on the votes.
      let late = false;
      const { sample, release } = samplerFor(r.x, r.seed, () => {
        late ||= performance.now() >= deadline;
        return late;
      });
      let drawn = 0;
      const counted: SampleCounts = async (key, offset, num) => {
        const counts = await sample(key, offset, num);
        drawn += counts.reduce((sum, c) => sum + c, 0);
        return counts;
      };
      const p = await predictBySampling(counted, { sigma, seed: r.seed, stream: REQUEST_STREAM }, r.n, r.alpha).finally(release);
      return {
        prediction: p.prediction === ABSTAIN ? null : p.prediction,
        pValue: p.pValue,
        samples: drawn,
        ms: performance.now() - began,
        ...(late ? { budgetExhausted: 'deadline' as const } : {}),
      };
    },

    async certify(request) {
      const began = performance.now();
      const r = checkRequest(await withImage(request, base.inputShape), base.inputShape, 'certify');
      if (r.fixedN !== undefined) return fixedN({ ...r, fixedN: r.fixedN }, began);
      const plan = planAdaptiveSettings(
        { n0: r.n0, maxN: r.maxN, alpha: r.alpha, ...(r.radius === undefined ? { tolerance: r.tolerance } : { radii: [r.radius] }) },
        sigma,
      );
      const deadline = began + r.deadlineMs;
      const { sample, release } = samplerFor(r.x, r.seed);
      const result = await certifyAdaptiveBySampling(
        sample,
        { sigma, seed: r.seed, stream: REQUEST_STREAM },
        plan,
        () => performance.now() >= deadline,
      ).finally(release);
      const answer: Answer = {
        prediction: result.prediction === ABSTAIN ? null : result.prediction,
        radius: result.radius,
        pABar: result.pABar,
        samples: result.samples,
        ms: performance.now() - began,
      };
      if (result.decisions) answer.certified = result.decisions.certified[0]!;
      if (result.unsettled) answer.budgetExhausted = result.unsettled === 'maxN' ? 'maxN' : 'deadline';
      return answer;
    },
  };
  return certifier;
}

/** A request with its PNG, if it sent one, decoded to the model's input (service/png.ts). */
async function withImage<R extends ImageInput>(request: R, shape: ImageShape): Promise<R> {
  if (request.png === undefined) return request;
  if (request.image !== undefined) throw new SettingError('png', () => 'give image or png, not both');
  const { png, ...rest } = request;
  return { ...rest, image: await decodePng(Buffer.from(png), shape) } as unknown as R;
}

/**
 * The counts of a request's samples, drawn in spans aligned to multiples of `granule` in the
 * stream: a look that needs part of a span gets the rest from the labels kept for the next look,
 * so the small looks of adaptive CERTIFY do not become tiny batches, while under load the spans of
 * many requests fill the shared batches. A span is at most one batch; `late`, asked before each
 * span after the first of a call, ends the counting early.
 */
function spans(batcher: SampleBatcher, x: Float32Array, numClasses: number, late?: () => boolean): SampleCounts {
  const granule = Math.max(1, Math.floor(batcher.batch / 8));
  const most = Math.max(granule, Math.floor(batcher.batch / granule) * granule);
  const kept = new Map<number, { first: number; labels: Int32Array }>();
  return async (key, offset, num) => {
    const counts = new Float64Array(numClasses);
    const end = offset + num;
    for (let j = offset; j < end; ) {
      let span = kept.get(key.substream);
      if (span === undefined || j < span.first || j >= span.first + span.labels.length) {
        if (j > offset && late?.()) break;
        const first = Math.floor(j / granule) * granule;
        const last = Math.min(Math.ceil(end / granule) * granule, first + most);
        span = { first, labels: await batcher.labels(x, key, first, last - first) };
        kept.set(key.substream, span);
      }
      const stop = Math.min(end, span.first + span.labels.length);
      for (let i = j; i < stop; i++) counts[span.labels[i - span.first]!]!++;
      j = stop;
    }
    return counts;
  };
}
