import * as tf from '@tensorflow/tfjs-core';
// For its side effect: the tfjs-layers bundle registers the gradients of tfjs-core's kernels (tfjs-core's Node build registers none).
import '@tensorflow/tfjs-layers';
import { crossEntropy, softCrossEntropy } from './cross-entropy.js';

/**
 * Stability training (Li et al.; paper eq. 9): CE(f(x), y) + λ · CE(softmax(f(x)), f(x + δ)),
 * batch means. The clean softmax is a soft target that is not detached, as in the
 * reference's `_cross_entropy`: the second term also pulls f(x) towards f(x + δ).
 */
export function stabilityLoss(cleanLogits: tf.Tensor2D, noisyLogits: tf.Tensor2D, labels: tf.Tensor1D, lbd: number): tf.Scalar {
  return tf.tidy(() => {
    const stability = tf.mean(softCrossEntropy(noisyLogits, tf.softmax(cleanLogits)));
    return tf.add(crossEntropy(cleanLogits, labels), tf.mul(lbd, stability));
  });
}
