import { UserError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';
import type { NoiseKey } from '../noise/gaussian.js';

/**
 * The base classifier f of randomized smoothing, seen only through its decisions.
 * Inputs are in [0, 1] pixel space plus noise; normalization belongs to the model
 * (paper, Supplementary A.2), so every engine (tfjs, native, ONNX) gets the same inputs.
 */
export interface BaseClassifier {
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  /**
   * argmax_k f(x)_k for each of `batchSize` NHWC images packed in `batch`. Throws
   * NonFiniteLogitsError when a logit is NaN or infinite: such an output has no arg-max.
   */
  classify(batch: Float32Array, batchSize: number): Promise<Int32Array>;
  /** Optional: the logits [batchSize × numClasses] themselves (what the log-probability gap needs). */
  logits?(batch: Float32Array, batchSize: number): Promise<Float32Array>;
  /**
   * Optional fast path: counts[k] += #{ j in [offset, offset + num) : f(x + sigma * z_j) = k }
   * where z_j is element block j of the noise stream `key` (see noise/gaussian.ts). An engine
   * that implements it must draw exactly the noise that fillGaussian would.
   */
  countNoisy?(
    x: Float32Array,
    sigma: number,
    key: NoiseKey,
    offset: number,
    num: number,
    batchSize: number,
    counts: Float64Array,
  ): Promise<void>;
  /**
   * Optional fast path: labels[j] = argmax f(x + sigma * z_(offset+j)) for j in [0, num), the
   * noise as in countNoisy. Used where a whole batch is computed and only part of it counted.
   */
  labelsNoisy?(x: Float32Array, sigma: number, key: NoiseKey, offset: number, num: number, labels: Int32Array): Promise<void>;
  dispose?(): void;
}

/**
 * The base classifier returned NaN or infinite logits. Counting such an output as a vote (an
 * arg-max over NaNs returns class 0) would certify a broken model, e.g. one whose training
 * diverged, at the maximal radius; certification refuses it instead.
 */
export class NonFiniteLogitsError extends UserError {
  constructor(rows: number) {
    super(
      `the base classifier returned NaN or infinite logits for ${rows} noisy input(s); the model is broken ` +
        '(diverged training or corrupt weights): retrain it or restore a good copy',
    );
  }
}

/**
 * The arg-max class of each of `rows` logit rows of `k` classes (first maximum on ties, as
 * tf.argMax); NonFiniteLogitsError when any logit is NaN or infinite.
 */
export function argMaxRows(logits: ArrayLike<number>, rows: number, k: number): Int32Array {
  const labels = new Int32Array(rows);
  let broken = 0;
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let j = 0; j < k; j++) {
      const v = logits[i * k + j]!;
      if (!Number.isFinite(v)) best = -1;
      else if (best >= 0 && v > logits[i * k + best]!) best = j;
    }
    if (best < 0) broken++;
    labels[i] = best;
  }
  if (broken > 0) throw new NonFiniteLogitsError(broken);
  return labels;
}
