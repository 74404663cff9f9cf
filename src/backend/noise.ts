import * as tf from '@tensorflow/tfjs-core';
import { SUBSTREAM } from '../noise/gaussian.js';
import { philoxNoise, type NoiseSource } from '../noise/tensor-noise.js';
import { NativeBackend } from './native-backend.js';

/**
 * Training noise of step `step` as philoxNoise draws it (the same values, bit for bit), generated
 * by the addon straight into the noise tensor's storage when the native backend is active.
 */
export function nativePhiloxNoise(seed: number, step: number): NoiseSource {
  const portable = philoxNoise(seed, step); // also validates seed and step
  const backend = tf.backend();
  if (!(backend instanceof NativeBackend)) return portable;
  let offset = 0;
  return {
    gaussian(shape, sigma) {
      const info = backend.output(shape, (out) => backend.addon.gaussian(out, seed, step, SUBSTREAM.train, offset, sigma, false));
      offset += tf.util.sizeFromShape(shape);
      return tf.engine().makeTensorFromTensorInfo(info);
    },
  };
}
