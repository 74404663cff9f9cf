import * as tf from '@tensorflow/tfjs-core';
// For its side effect: the tfjs-layers bundle registers the gradients of tfjs-core's kernels (tfjs-core's Node build registers none).
import '@tensorflow/tfjs-layers';
import { normalQuantile, normalQuantileTensor } from './normal-quantile.js';

export interface MacerLossOptions {
  /** Noise level σ: the certified radius is σ/2 · (Φ⁻¹(q_1) − Φ⁻¹(q_2)). */
  sigma: number;
  /** Weight λ of the robustness term (0: classification only). */
  lbd: number;
  /** Hinge margin γ on the soft radius, in units of σ/2. */
  gamma: number;
  /** Inverse temperature β of the softmax inside the robustness term. */
  beta: number;
}

/** Smallest normal float32: below it Φ⁻¹'s gradient, √(2π)·exp(x²/2), overflows float32. */
const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * MACER (Zhai et al.; paper Supplementary E.2) over m logit batches f(x + δ_1..m) of b images:
 *   classification = −Σ_b log(mean_k softmax(f(x + δ_k))_y + 1e-10)
 *   q = mean_k softmax(β·f(x + δ_k)); q_1 ≥ q_2 its top two; ξ = Φ⁻¹(q_2) − Φ⁻¹(q_1)
 *   robustness = σ/2 · Σ (ξ + γ) over the examples whose top class is the label and |ξ| ≤ γ
 *   loss = (classification + λ·robustness) / b
 * Dropping |ξ| > γ is the hinge max(γ − CR, 0) (ξ ≤ 0 always). Which examples count is a
 * non-differentiable choice made on the values, as the reference does with boolean indexing.
 * Difference from the reference: its Φ⁻¹ is √2·erfinv(2q − 1) in float32, which is −∞ for
 * q_2 < ~1.5e-8 and so also drops those examples; ours is accurate there and keeps them while
 * |ξ| ≤ γ (the paper's formula). Examples with q_2 below the smallest normal float32 are dropped
 * because the gradient of Φ⁻¹ overflows there (at γ = 8 with up to 1000 classes such an ξ is beyond the hinge anyway).
 */
export function macerLoss(logits: tf.Tensor2D[], labels: tf.Tensor1D, opts: MacerLossOptions): tf.Scalar {
  const { sigma, lbd, gamma, beta } = opts;
  const b = labels.shape[0];
  const numClasses = logits[0]!.shape[1];
  return tf.tidy(() => {
    const labelOneHot = tf.oneHot(tf.cast(labels, 'int32'), numClasses);
    const meanProb = tf.div(tf.addN(logits.map((l) => tf.softmax(l))), logits.length);
    const classification = tf.neg(tf.sum(tf.mul(labelOneHot, tf.log(tf.add(meanProb, 1e-10)))));
    if (lbd === 0) return tf.div<tf.Scalar>(classification, b);

    const q = tf.div<tf.Tensor2D>(tf.addN(logits.map((l) => tf.softmax(tf.mul(l, beta)))), logits.length);
    const chosen = hingeSelection(q.dataSync(), labels.dataSync(), numClasses, gamma);
    const keep = tf.tensor1d(chosen.keep);
    const keepBool = tf.cast(keep, 'bool');
    const q1 = tf.sum(tf.mul(q, tf.oneHot(tf.tensor1d(chosen.top1, 'int32'), numClasses)), 1);
    const q2 = tf.sum(tf.mul(q, tf.oneHot(tf.tensor1d(chosen.top2, 'int32'), numClasses)), 1);
    // Dropped rows see Φ⁻¹(1/2): finite value and gradient, then multiplied by 0.
    const xi = tf.sub(normalQuantileTensor(tf.where(keepBool, q2, 0.5)), normalQuantileTensor(tf.where(keepBool, q1, 0.5)));
    const robustness = tf.mul(sigma / 2, tf.sum(tf.mul(keep, tf.add(xi, gamma))));
    return tf.div<tf.Scalar>(tf.add(classification, tf.mul(lbd, robustness)), b);
  });
}

interface HingeSelection {
  top1: Int32Array;
  top2: Int32Array;
  /** 1 where the example enters the robustness term, else 0. */
  keep: Float32Array;
}

function hingeSelection(q: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, gamma: number): HingeSelection {
  const b = labels.length;
  const top1 = new Int32Array(b);
  const top2 = new Int32Array(b);
  const keep = new Float32Array(b);
  for (let i = 0; i < b; i++) {
    const row = i * numClasses;
    let first = 0;
    for (let k = 1; k < numClasses; k++) if (q[row + k]! > q[row + first]!) first = k;
    let second = first === 0 ? 1 : 0;
    for (let k = 0; k < numClasses; k++) if (k !== first && q[row + k]! > q[row + second]!) second = k;
    top1[i] = first;
    top2[i] = second;
    const q1 = q[row + first]!;
    const q2 = q[row + second]!;
    const xi = normalQuantile(q2) - normalQuantile(q1);
    keep[i] = first === labels[i] && q2 >= FLOAT32_MIN_NORMAL && Number.isFinite(xi) && Math.abs(xi) <= gamma ? 1 : 0;
  }
  return { top1, top2, keep };
}
