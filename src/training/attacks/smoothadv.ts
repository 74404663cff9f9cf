import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface SmoothAdvAttackOptions {
  /** Radius ε of the L2 ball, in [0, 1] pixel units (the reference takes 256·ε). */
  epsilon: number;
  /** Number of PGD steps; the step size is 2ε/numSteps. */
  numSteps: number;
  /**
   * Descend the NLL of `labels` instead of ascending it: a targeted attack that moves each
   * example toward its label (the playground pushes an image toward the runner-up class).
   */
  towards?: boolean;
}

/** Floor of the soft-smoothed probability inside the log, as in the reference. */
const PROB_FLOOR = 1e-20;

/**
 * −log of the soft smoothed classifier's probability of the label, batch mean:
 * −log max(mean_i softmax(f(x + δ_i))_y, 1e-20), with f in inference mode.
 */
export function softSmoothedNll(model: tfl.LayersModel, x: tf.Tensor4D, labels: tf.Tensor1D, noises: tf.Tensor4D[]): tf.Scalar {
  return tf.tidy(() => {
    const b = x.shape[0];
    const logits = model.apply(tf.concat(noises.map((d) => tf.add(x, d))), { training: false }) as tf.Tensor2D;
    // Rows are copy-major: [m·b, K] → [m, b, K], averaged over the copies.
    const mean = tf.mean(tf.reshape(tf.softmax(logits), [noises.length, b, logits.shape[1]]), 0);
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]);
    return tf.neg(tf.mean<tf.Scalar>(tf.log(tf.maximum(tf.sum(tf.mul(mean, oneHot), 1), PROB_FLOOR))));
  });
}

/**
 * SmoothAdv's attack (Salman et al.; paper Supplementary E.1, as in the authors'
 * train_consistency.py): L2 PGD on the soft smoothed classifier over the fixed noise draws
 * δ_1..m that training then reuses. Starts at x; each step moves by 2ε/numSteps along the
 * per-example normalized gradient g/(‖g‖₂ + 1e-8), projects onto the ε-ball around x, then
 * clamps to [0, 1] (clamping after the projection keeps the point inside the ball, since x is in
 * [0, 1]). A zero gradient leaves an example in place (Salman's own PGD steps randomly then).
 * The model runs in inference mode, so batch-norm statistics are neither taken from the batch
 * nor updated. Returns new tensors; the caller trains on them as constants (no gradient path).
 */
export function smoothAdvAttack(
  model: tfl.LayersModel,
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  noises: tf.Tensor4D[],
  opts: SmoothAdvAttackOptions,
): tf.Tensor4D {
  const { epsilon, numSteps } = opts;
  const alpha = ((opts.towards ? -2 : 2) * epsilon) / numSteps;
  const lossOf = (adv: tf.Tensor) => softSmoothedNll(model, adv as tf.Tensor4D, labels, noises);
  let adv: tf.Tensor4D = tf.clone(x);
  for (let step = 0; step < numSteps; step++) {
    const next = tf.tidy((): tf.Tensor4D => {
      const grad = tf.grad(lossOf)(adv);
      const moved = tf.add(adv, tf.mul(alpha, tf.div(grad, tf.add(l2Norms(grad), 1e-8))));
      const delta = tf.sub(moved, x);
      const norms = l2Norms(delta);
      const scale = tf.where(tf.greater(norms, epsilon), tf.div(epsilon, norms), tf.onesLike(norms));
      return tf.clipByValue(tf.add<tf.Tensor4D>(x, tf.mul(delta, scale)), 0, 1);
    });
    adv.dispose();
    adv = next;
  }
  return adv;
}

/** ‖·‖₂ of each example, shaped [b, 1, 1, 1] to broadcast over images. */
function l2Norms(t: tf.Tensor): tf.Tensor {
  return tf.sqrt(tf.sum(tf.square(t), [1, 2, 3], true));
}
