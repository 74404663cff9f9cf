import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { consistencyLoss, CONSISTENCY_FORMS } from '../../src/training/losses/consistency.js';
import { crossEntropy } from '../../src/training/losses/cross-entropy.js';
import { stabilityLoss } from '../../src/training/losses/stability.js';
import { macerLoss } from '../../src/training/losses/macer.js';
import { mulberry } from '../helpers/rng.js';
import { consistencyRef, crossEntropyRef, finiteDifferences, macerRef, softmax, stabilityRef, unflatten } from './reference.js';

const close = (got: number, want: number, tol: number, what = '') =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what} got ${got}, want ${want}`);

/** Evaluates a tfjs loss of m logit batches given as one flat vector; returns value and gradient. */
function tfLossAndGrad(flat: number[], m: number, b: number, k: number, loss: (copies: tf.Tensor2D[]) => tf.Scalar) {
  const x = tf.tensor2d(flat, [m * b, k]);
  const f = (t: tf.Tensor) => loss(m === 1 ? [t as tf.Tensor2D] : tf.split(t as tf.Tensor2D, m));
  const { value, grad } = tf.valueAndGrad(f)(x);
  const out = { value: value.dataSync()[0]!, grad: Array.from(grad.dataSync()) };
  tf.dispose([x, value, grad]);
  return out;
}

function randomLogits(n: number, seed: number, scale = 2): number[] {
  const rng = mulberry(seed);
  return Array.from({ length: n }, () => scale * (2 * rng() - 1));
}

test('consistency loss by hand: m = 2, one example, two classes', () => {
  // softmax([0, 0]) = (1/2, 1/2), softmax([ln 3, 0]) = (3/4, 1/4), mean (5/8, 3/8)
  const pbar = [5 / 8, 3 / 8];
  const kl =
    (pbar[0]! * Math.log(pbar[0]! / 0.5) +
      pbar[1]! * Math.log(pbar[1]! / 0.5) +
      pbar[0]! * Math.log(pbar[0]! / 0.75) +
      pbar[1]! * Math.log(pbar[1]! / 0.25)) /
    2;
  const h = -(pbar[0]! * Math.log(pbar[0]!) + pbar[1]! * Math.log(pbar[1]!));
  const copies = [tf.tensor2d([[0, 0]]), tf.tensor2d([[Math.log(3), 0]])];
  close(consistencyLoss(copies, 10, 0.5).dataSync()[0]!, 10 * kl + 0.5 * h, 1e-6, 'default');
  close(consistencyLoss(copies, 10, 0.5, 'xent').dataSync()[0]!, 10 * (kl + h), 1e-6, 'xent');
  close(consistencyLoss(copies, 10, 0.5, 'kl').dataSync()[0]!, 10 * kl, 1e-6, 'kl');
  close(consistencyLoss(copies, 10, 0.5, 'mse').dataSync()[0]!, 10 * 2 * 0.25 ** 2, 1e-6, 'mse');
});

test('consistency loss matches the float64 reference for m = 3, every form, batch mean', () => {
  const [m, b, k] = [3, 4, 5];
  const flat = randomLogits(m * b * k, 1, 3);
  for (const form of CONSISTENCY_FORMS) {
    const { value } = tfLossAndGrad(flat, m, b, k, (c) => consistencyLoss(c, 7, 0.3, form));
    close(value, consistencyRef(unflatten(flat, m, b, k), 7, 0.3, form), 2e-5, form);
  }
});

test("form 'xent' equals 'default' when eta = lbd", () => {
  const [m, b, k] = [2, 3, 4];
  const flat = randomLogits(m * b * k, 2);
  const a = tfLossAndGrad(flat, m, b, k, (c) => consistencyLoss(c, 3, 3, 'default'));
  const x = tfLossAndGrad(flat, m, b, k, (c) => consistencyLoss(c, 3, 123, 'xent'));
  close(a.value, x.value, 1e-6);
  a.grad.forEach((g, i) => close(g, x.grad[i]!, 1e-5, `grad ${i}`));
});

test('the KL term is zero for identical copies', () => {
  const row = tf.tensor2d([
    [1, -2, 0.5],
    [3, 3, -1],
  ]);
  assert.ok(Math.abs(consistencyLoss([row, row, row], 10, 0.5, 'kl').dataSync()[0]!) < 1e-6);
  assert.ok(Math.abs(consistencyLoss([row, row], 10, 0.5, 'mse').dataSync()[0]!) < 1e-12);
  // With identical copies the default form is η·H(p) alone.
  const h = (r: number[]) => -softmax(r).reduce((s, p) => s + p * Math.log(p), 0);
  close(consistencyLoss([row, row], 10, 0.5).dataSync()[0]!, (0.5 * (h([1, -2, 0.5]) + h([3, 3, -1]))) / 2, 1e-6);
});

test('consistency loss rejects m = 1 and stays finite when softmax underflows', () => {
  assert.throws(() => consistencyLoss([tf.tensor2d([[0, 1]])], 1, 1), /m ≥ 2/);
  const v = consistencyLoss([tf.tensor2d([[200, -200, 0]]), tf.tensor2d([[-200, 200, 0]])], 10, 0.5).dataSync()[0]!;
  assert.ok(Number.isFinite(v), String(v));
});

// Gradient checks: tfjs (float32) against central differences of the float64 reference.
const GRAD_TOL = 2e-4;

for (const form of CONSISTENCY_FORMS) {
  test(`consistency '${form}': gradient w.r.t. logits matches finite differences`, () => {
    const [m, b, k] = [3, 2, 4];
    const flat = randomLogits(m * b * k, 3);
    const { grad } = tfLossAndGrad(flat, m, b, k, (c) => consistencyLoss(c, 5, 0.5, form));
    const fd = finiteDifferences((x) => consistencyRef(unflatten(x, m, b, k), 5, 0.5, form), flat);
    fd.forEach((g, i) => close(grad[i]!, g, GRAD_TOL, `d/dlogit ${i}`));
  });
}

test('cross-entropy: value and gradient match the reference', () => {
  const [b, k] = [3, 4];
  const flat = randomLogits(b * k, 4);
  const labels = [0, 3, 1];
  const y = tf.tensor1d(labels, 'int32');
  const { value, grad } = tfLossAndGrad(flat, 1, b, k, ([l]) => crossEntropy(l!, y));
  close(value, crossEntropyRef(unflatten(flat, 1, b, k)[0]!, labels), 1e-6);
  const fd = finiteDifferences((x) => crossEntropyRef(unflatten(x, 1, b, k)[0]!, labels), flat);
  fd.forEach((g, i) => close(grad[i]!, g, GRAD_TOL, `d/dlogit ${i}`));
});

test('stability loss: value and gradient (through the clean soft target too) match the reference', () => {
  const [b, k] = [3, 4];
  const flat = randomLogits(2 * b * k, 5);
  const labels = [2, 0, 1];
  const y = tf.tensor1d(labels, 'int32');
  const ref = (x: number[]) => {
    const [c, n] = unflatten(x, 2, b, k);
    return stabilityRef(c!, n!, labels, 2);
  };
  const { value, grad } = tfLossAndGrad(flat, 2, b, k, ([c, n]) => stabilityLoss(c!, n!, y, 2));
  close(value, ref(flat), 1e-6);
  finiteDifferences(ref, flat).forEach((g, i) => close(grad[i]!, g, GRAD_TOL, `d/dlogit ${i}`));
  // The clean logits get gradient from the soft-target term as well: not detached.
  const without = tfLossAndGrad(flat, 2, b, k, ([c, n]) => stabilityLoss(c!, n!, y, 0));
  assert.ok(grad.slice(0, b * k).some((g, i) => Math.abs(g - without.grad[i]!) > 1e-3));
});

test('MACER: value and gradient match the reference while the hinge is active', () => {
  const [m, b, k] = [4, 3, 3];
  // Copies near (1.5, 0, −0.5) per example: top class = label 0 with a moderate margin.
  const rng = mulberry(6);
  const flat = Array.from({ length: m * b * k }, (_, i) => [1.5, 0, -0.5][i % k]! + 0.5 * (rng() - 0.5));
  const labels = [0, 0, 0];
  const y = tf.tensor1d(labels, 'int32');
  const o = { sigma: 0.5, lbd: 3, gamma: 8, beta: 2 };
  const ref = (x: number[]) => macerRef(unflatten(x, m, b, k), labels, o);
  const withoutHinge = macerRef(unflatten(flat, m, b, k), labels, { ...o, lbd: 0 });
  assert.ok(ref(flat) > withoutHinge + 1, 'the robustness term is active in this example');
  const { value, grad } = tfLossAndGrad(flat, m, b, k, (c) => macerLoss(c, y, o));
  close(value, ref(flat), 2e-5);
  finiteDifferences(ref, flat).forEach((g, i) => close(grad[i]!, g, GRAD_TOL, `d/dlogit ${i}`));
});

test('MACER: the hinge term is zero when ξ is beyond γ, and for misclassified examples', () => {
  const [m, b, k] = [2, 2, 3];
  // q ≈ (0.93, 0.05, 0.02): ξ = Φ⁻¹(q_2) − Φ⁻¹(q_1) ≈ −3.1, beyond γ = 1.
  const flat = [3, 0.1, -1, 3, 0.1, -1, 3, 0.1, -1, 3, 0.1, -1];
  const o = { sigma: 1, lbd: 16, gamma: 1, beta: 1 };
  const y = tf.tensor1d([0, 0], 'int32');
  const a = tfLossAndGrad(flat, m, b, k, (c) => macerLoss(c, y, o));
  const noHinge = tfLossAndGrad(flat, m, b, k, (c) => macerLoss(c, y, { ...o, lbd: 0 }));
  const classification = -Math.log(softmax([3, 0.1, -1])[0]! + 1e-10);
  close(a.value, classification, 1e-6);
  close(noHinge.value, classification, 1e-6);
  a.grad.forEach((g, i) => close(g, noHinge.grad[i]!, 1e-6, `grad ${i}`));
  // With γ = 8 the same example is inside the hinge, but not when its label is another class.
  const inside = tfLossAndGrad(flat, m, b, k, (c) => macerLoss(c, y, { ...o, gamma: 8 })).value;
  assert.ok(inside > classification + 1);
  const wrong = tf.tensor1d([1, 1], 'int32');
  close(
    tfLossAndGrad(flat, m, b, k, (c) => macerLoss(c, wrong, { ...o, gamma: 8 })).value,
    -Math.log(softmax([3, 0.1, -1])[1]! + 1e-10),
    1e-6,
  );
});

test('MACER: saturated probabilities (q_2 = 0) are dropped without NaN gradients', () => {
  const [m, b, k] = [2, 2, 3];
  const flat = [60, 0, 0, 1, 0.5, 0, 60, 0, 0, 1, 0.5, 0];
  const y = tf.tensor1d([0, 0], 'int32');
  const { value, grad } = tfLossAndGrad(flat, m, b, k, (c) => macerLoss(c, y, { sigma: 0.25, lbd: 16, gamma: 8, beta: 16 }));
  assert.ok(Number.isFinite(value));
  assert.ok(grad.every(Number.isFinite));
});
