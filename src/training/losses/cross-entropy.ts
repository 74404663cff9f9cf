import * as tf from '@tensorflow/tfjs-core';
// For its side effect: the tfjs-layers bundle registers the gradients of tfjs-core's kernels (tfjs-core's Node build registers none).
import '@tensorflow/tfjs-layers';

/** Mean over the batch of −log softmax(logits)[label] (PyTorch's CrossEntropyLoss). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1)));
  });
}

/**
 * Per-example cross-entropy −Σ_k p_k log softmax(logits)_k against soft targets p.
 * Gradients flow into both the logits and the targets.
 */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum<tf.Tensor1D>(tf.mul(targets, tf.logSoftmax(logits)), 1)));
}
