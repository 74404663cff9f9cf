import type { NoiseKey } from '../noise/gaussian.js';

/** Image shape in NHWC order without the batch dimension: [height, width, channels]. */
export type ImageShape = [number, number, number];

/**
 * The base classifier f of randomized smoothing, seen only through its decisions.
 * Inputs are in [0, 1] pixel space plus noise; normalization belongs to the model
 * (paper, Supplementary A.2), so every engine (tfjs, native, ONNX) gets the same inputs.
 */
export interface BaseClassifier {
  readonly inputShape: ImageShape;
  readonly numClasses: number;
  /** argmax_k f(x)_k for each of `batchSize` NHWC images packed in `batch`. */
  classify(batch: Float32Array, batchSize: number): Promise<Int32Array>;
  /**
   * Optional fast path: counts[k] += #{ j in [offset, offset + num) : f(x + sigma * z_j) = k }
   * where z_j is element block j of the noise stream `key` (see noise/gaussian.ts). An engine
   * that implements it must draw exactly the noise that fillGaussian would.
   */
  countNoisy?(
    x: Float32Array, sigma: number, key: NoiseKey, offset: number, num: number,
    batchSize: number, counts: Float64Array,
  ): Promise<void>;
  dispose?(): void;
}
