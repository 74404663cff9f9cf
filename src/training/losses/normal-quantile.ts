import * as tf from '@tensorflow/tfjs-core';
// For its side effect: the tfjs-layers bundle registers the gradients of tfjs-core's kernels (tfjs-core's Node build registers none).
import '@tensorflow/tfjs-layers';

/*
 * Φ⁻¹, the standard normal quantile, by Wichura's algorithm AS 241 (Applied Statistics 37,
 * 1988), routine PPND7: a rational function of 0.180625 − (p − 1/2)² for |p − 1/2| ≤ 0.425, and
 * of √(−log min(p, 1 − p)) − 1.6 or − 5 in the tails. Its error is about 1.2e-7·max(1, |x|) on
 * (0, 1), float32 precision; all coefficients are positive, so float32 evaluation only adds
 * rounding, below 3e-7·max(1, |x|) (both bounds are checked by the tests). A float64-grade
 * rational such as Acklam's cancels catastrophically in float32 near its branch ends (errors
 * ~1e-4), and √2·erfinv(2p − 1) loses the lower tail, where 2p − 1 rounds to −1 (float32: p < 1.5e-8).
 */
const A = [59.10937472, 159.29113202, 50.434271938, 3.3871327179];
const B = [67.1875636, 78.757757664, 17.895169469, 1];
const C = [0.17023821103, 1.3067284816, 2.75681539, 1.4234372777];
const D = [0.12021132975, 0.7370016425, 1];
const E = [0.017337203997, 0.42868294337, 3.081226386, 6.657905115];
const F = [0.012258202635, 0.24197894225, 1];
const SPLIT_CENTRAL = 0.425;
const SPLIT_TAIL = 5;
const SQRT_2PI = Math.sqrt(2 * Math.PI);

/** Horner evaluation of c[0]·x^(n−1) + … + c[n−1]. */
function horner(c: readonly number[], x: number): number {
  let y = 0;
  for (const ci of c) y = y * x + ci;
  return y;
}

function hornerTensor(c: readonly number[], x: tf.Tensor): tf.Tensor {
  let y: tf.Tensor = tf.mul(c[0]!, x);
  for (const ci of c.slice(1, -1)) y = tf.mul(tf.add(y, ci), x);
  return tf.add(y, c[c.length - 1]!);
}

/** Φ⁻¹(p) (−∞ at 0, +∞ at 1, NaN outside [0, 1]). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  const q = p - 0.5;
  if (Math.abs(q) <= SPLIT_CENTRAL) {
    const r = 0.180625 - q * q;
    return (q * horner(A, r)) / horner(B, r);
  }
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const r = Math.sqrt(-Math.log(Math.min(p, 1 - p)));
  const x = r <= SPLIT_TAIL ? horner(C, r - 1.6) / horner(D, r - 1.6) : horner(E, r - SPLIT_TAIL) / horner(F, r - SPLIT_TAIL);
  return q < 0 ? -x : x;
}

function quantileForward(p: tf.Tensor): tf.Tensor {
  // Every branch is evaluated everywhere, each on inputs clamped into its own range, so none
  // produces NaN or ∞ where tf.where discards it.
  const q = tf.sub(p, 0.5);
  const qc = tf.clipByValue(q, -SPLIT_CENTRAL, SPLIT_CENTRAL);
  const rc = tf.sub(0.180625, tf.square(qc));
  const central = tf.div(tf.mul(qc, hornerTensor(A, rc)), hornerTensor(B, rc));
  const t = tf.clipByValue(tf.minimum(p, tf.sub(1, p)), 1e-45, 0.5 - SPLIT_CENTRAL);
  const r = tf.sqrt(tf.neg(tf.log(t)));
  const near = tf.sub(tf.minimum(r, SPLIT_TAIL), 1.6);
  const far = tf.sub(tf.maximum(r, SPLIT_TAIL), SPLIT_TAIL);
  const tail = tf.where(
    tf.lessEqual(r, SPLIT_TAIL),
    tf.div(hornerTensor(C, near), hornerTensor(D, near)),
    tf.div(hornerTensor(E, far), hornerTensor(F, far)),
  );
  const x = tf.where(tf.lessEqual(tf.abs(q), SPLIT_CENTRAL), central, tf.where(tf.less(q, 0), tf.neg(tail), tail));
  const inf = tf.fill(p.shape, Infinity);
  return tf.where(tf.lessEqual(p, 0), tf.neg(inf), tf.where(tf.greaterEqual(p, 1), inf, x));
}

/**
 * Φ⁻¹ elementwise on a float32 tensor, differentiable: the gradient is the exact
 * dΦ⁻¹/dp = 1/φ(Φ⁻¹(p)) = √(2π)·exp(x²/2), not the derivative of the approximation.
 * It overflows float32 for |x| > 13.2 (p below ~1e-38): callers keep such p off the gradient path.
 */
export const normalQuantileTensor: (p: tf.Tensor) => tf.Tensor = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [p, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const x = quantileForward(p);
  save([x]);
  return {
    value: x,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(SQRT_2PI, tf.exp(tf.div(tf.square(saved[0]!), 2)))),
  };
}) as (p: tf.Tensor) => tf.Tensor;
