import * as tf from '@tensorflow/tfjs-core';
// For its side effect: the tfjs-layers bundle registers the gradients of tfjs-core's kernels (tfjs-core's Node build registers none).
import '@tensorflow/tfjs-layers';

/** Forms of the regularizer (paper eq. 7 and the ablation of Section 4.5, eq. 13). */
export const CONSISTENCY_FORMS = ['default', 'xent', 'kl', 'mse'] as const;
export type ConsistencyForm = (typeof CONSISTENCY_FORMS)[number];

/** Floor of p̄ inside the logarithms: keeps 0·log 0 at 0 instead of NaN, as the reference's clamp. */
const LOG_FLOOR = 1e-20;

/**
 * Consistency regularization (Jeong & Shin, eq. 7 / 12) over m ≥ 2 logit batches
 * f(x + δ_1), …, f(x + δ_m) of the same images, averaged over the batch. With p_i the softmax
 * of copy i and p̄ = (1/m) Σ_i p_i (not detached: gradients flow through the mean):
 *   KL = (1/m) Σ_i KL(p̄ ‖ p_i) = (1/m) Σ_i Σ_k p̄_k (log p̄_k − log softmax(logits_i)_k)
 *   H  = −Σ_k p̄_k log max(p̄_k, 1e-20)
 * - 'default': λ·KL + η·H (all the paper's results use it);
 * - 'xent':    λ·(KL + H), the cross-entropy between p̄ and each p_i ('default' at η = λ);
 * - 'kl':      λ·KL;
 * - 'mse':     λ·‖p_2 − p_1‖², first two copies only.
 * p̄ log p̄ in KL also uses the 1e-20 floor (the reference's kl_div defines 0·log 0 = 0; the two
 * differ by less than 1e-18 per class).
 */
export function consistencyLoss(logits: tf.Tensor2D[], lbd: number, eta: number, form: ConsistencyForm = 'default'): tf.Scalar {
  const m = logits.length;
  if (m < 2) throw new Error(`consistencyLoss needs m ≥ 2 logit batches (the KL term vanishes at m = 1), got ${m}`);
  return tf.tidy(() => {
    const probs = logits.map((l) => tf.softmax(l));
    if (form === 'mse') {
      return tf.mul(lbd, tf.mean(tf.sum(tf.square(tf.sub(probs[1]!, probs[0]!)), 1)));
    }
    const mean = tf.div(tf.addN(probs), m);
    const logMean = tf.log(tf.maximum(mean, LOG_FLOOR));
    const negEntropy = tf.sum(tf.mul(mean, logMean), 1);
    const meanLogProb = tf.div(tf.addN(logits.map((l) => tf.logSoftmax(l))), m);
    // (1/m) Σ_i Σ_k p̄_k (log p̄_k − log p_i,k) = Σ_k p̄_k log p̄_k − Σ_k p̄_k · mean_i log p_i,k
    const kl = tf.sub(negEntropy, tf.sum(tf.mul(mean, meanLogProb), 1));
    let perExample: tf.Tensor1D;
    switch (form) {
      case 'default':
        perExample = tf.sub(tf.mul(lbd, kl), tf.mul(eta, negEntropy));
        break;
      case 'xent':
        perExample = tf.mul(lbd, tf.sub(kl, negEntropy));
        break;
      case 'kl':
        perExample = tf.mul(lbd, kl);
        break;
    }
    return tf.mean(perExample);
  });
}
