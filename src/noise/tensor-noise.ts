import * as tf from '@tensorflow/tfjs-core';
import { fillGaussian, SUBSTREAM } from './gaussian.js';

/** Where a training method gets its Gaussian noise; a backend may supply a faster one. */
export interface NoiseSource {
  /** σ·N(0, I) of the given shape; successive calls continue the stream (independent draws). */
  gaussian(shape: number[], sigma: number): tf.Tensor;
}

/**
 * Training noise of optimizer step `step` of a run with `seed`: the Philox stream
 * (seed, stream = step, substream = SUBSTREAM.train). A step's noise depends on nothing
 * else, so a resumed run draws exactly the noise of an uninterrupted one.
 */
export function philoxNoise(seed: number, step: number): NoiseSource {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER)
    throw new RangeError(`seed must be an integer in [0, 2^53), got ${seed}`);
  if (!Number.isInteger(step) || step < 0 || step >= 4294967296) throw new RangeError(`step must be an integer in [0, 2^32), got ${step}`);
  const key = { seed, stream: step, substream: SUBSTREAM.train };
  let offset = 0;
  return {
    gaussian(shape, sigma) {
      const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
      fillGaussian(values, key, offset, sigma);
      offset += values.length;
      return tf.tensor(values, shape);
    },
  };
}
