import * as tf from '@tensorflow/tfjs-core';
import { stabilityLoss } from '../losses/stability.js';
import type { TrainingMethod } from '../method.js';
import { drawNoise } from './copies.js';

/** Stability training (Li et al., eq. 9): clean and noisy images in two forward passes, as the reference. */
export function stabilityMethod(sigma: number, o: { lbd: number }): TrainingMethod {
  return {
    name: 'stability',
    sigma,
    options: o,
    numNoise: 1,
    splitsBatch: false,
    prepare(model, { x, labels }, { noise }) {
      const [delta] = drawNoise(noise, x, 1, sigma);
      const noisy = tf.add<tf.Tensor4D>(x, delta!);
      delta!.dispose();
      return {
        numSamples: x.shape[0],
        loss() {
          const clean = model.apply(x, { training: true }) as tf.Tensor2D;
          const logits = model.apply(noisy, { training: true }) as tf.Tensor2D;
          return { loss: stabilityLoss(clean, logits, labels, o.lbd), logits, labels };
        },
        dispose: () => noisy.dispose(),
      };
    },
  };
}
