import * as tf from '@tensorflow/tfjs-core';
import type { NoiseSource } from '../../noise/tensor-noise.js';

/** m draws δ_i ~ N(0, σ²I) of x's shape from the step's noise source. */
export function drawNoise(noise: NoiseSource, x: tf.Tensor4D, m: number, sigma: number): tf.Tensor4D[] {
  return Array.from({ length: m }, () => noise.gaussian(x.shape, sigma) as tf.Tensor4D);
}

/** The m logit batches of stacked copies. tf.split into one piece breaks tfjs's gradient, hence the special case. */
export function splitCopies(logits: tf.Tensor2D, m: number): tf.Tensor2D[] {
  return m === 1 ? [logits] : tf.split(logits, m);
}

/** The copies x + δ_i concatenated copy-major ([m·b, …], so tf.split gives copy i) and the labels repeated to match. */
export function stackCopies(x: tf.Tensor4D, labels: tf.Tensor1D, noises: tf.Tensor4D[]): { inputs: tf.Tensor4D; targets: tf.Tensor1D } {
  return {
    inputs: tf.tidy(() => tf.concat(noises.map((d) => tf.add<tf.Tensor4D>(x, d)))),
    targets: tf.tile(labels, [noises.length]),
  };
}
