import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { smoothAdvAttack, softSmoothedNll } from '../../src/training/attacks/smoothadv.js';
import { philoxNoise } from '../../src/noise/tensor-noise.js';
import { mulberry } from '../helpers/rng.js';
import { softmax } from './reference.js';

/** A tiny classifier with a batch-norm layer, so inference mode can be checked. */
function tinyModel(): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [4, 4, 1] }),
      tfl.layers.dense({ units: 8, activation: 'tanh', kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }) }),
      tfl.layers.batchNormalization({ name: 'bn', momentum: 0.5 }),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }),
    ],
  });
  // Non-trivial running statistics, so a training-mode pass would visibly change them.
  model.getLayer('bn').setWeights([tf.ones([8]), tf.zeros([8]), tf.fill([8], 0.1), tf.fill([8], 2)]);
  return model;
}

function batch() {
  const rng = mulberry(11);
  // Pixels at 0 and 1 included, so the [0, 1] clamp is exercised.
  const values = Array.from({ length: 5 * 16 }, (_, i) => (i % 7 === 0 ? 0 : i % 7 === 1 ? 1 : rng()));
  const x = tf.tensor4d(values, [5, 4, 4, 1]);
  const labels = tf.tensor1d([0, 1, 2, 0, 1], 'int32');
  const source = philoxNoise(3, 0);
  const noises = [0, 1, 2].map(() => source.gaussian([5, 4, 4, 1], 0.25) as tf.Tensor4D);
  return { x, labels, noises };
}

for (const epsilon of [0.05, 0.5, 2]) {
  test(`SmoothAdv PGD (ε = ${epsilon}) stays in the ε-ball and [0, 1] and increases the soft-smoothed loss`, () => {
    const model = tinyModel();
    const { x, labels, noises } = batch();
    const weightsBefore = model.getWeights().map((w) => Array.from(w.dataSync()));
    const adv = smoothAdvAttack(model, x, labels, noises, { epsilon, numSteps: 5 });
    assert.deepEqual(adv.shape, x.shape);
    const a = adv.dataSync();
    const c = x.dataSync();
    for (let i = 0; i < 5; i++) {
      let sq = 0;
      for (let j = 0; j < 16; j++) {
        const v = a[i * 16 + j]!;
        assert.ok(v >= 0 && v <= 1, `pixel ${v}`);
        sq += (v - c[i * 16 + j]!) ** 2;
      }
      assert.ok(Math.sqrt(sq) <= epsilon * (1 + 1e-5), `example ${i}: ‖δ‖ = ${Math.sqrt(sq)}`);
      assert.ok(Math.sqrt(sq) > 0, `example ${i} moved`);
    }
    const before = softSmoothedNll(model, x, labels, noises).dataSync()[0]!;
    const after = softSmoothedNll(model, adv, labels, noises).dataSync()[0]!;
    assert.ok(after > before, `loss ${before} → ${after}`);
    // Inference mode: no weight and no running statistic changed.
    model.getWeights().forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), weightsBefore[i]));
  });
}

test('SmoothAdv with a single noise draw (m = 1, the ImageNet setting) moves every example', () => {
  const model = tinyModel();
  const { x, labels, noises } = batch();
  const adv = smoothAdvAttack(model, x, labels, noises.slice(0, 1), { epsilon: 0.5, numSteps: 2 });
  const before = softSmoothedNll(model, x, labels, noises.slice(0, 1)).dataSync()[0]!;
  assert.ok(softSmoothedNll(model, adv, labels, noises.slice(0, 1)).dataSync()[0]! > before);
});

test('SmoothAdv with ε = 0 returns the clean images', () => {
  const model = tinyModel();
  const { x, labels, noises } = batch();
  const adv = smoothAdvAttack(model, x, labels, noises, { epsilon: 0, numSteps: 3 });
  assert.deepEqual(Array.from(adv.dataSync()), Array.from(x.dataSync()));
});

test('softSmoothedNll is −log of the mean softmax probability of the label', () => {
  const model = tinyModel();
  const { x, labels, noises } = batch();
  const probs = noises.map((d) => ((model.predict(tf.add(x, d)) as tf.Tensor).arraySync() as number[][]).map((row) => softmax(row)));
  const y = labels.arraySync() as number[];
  const want = y.reduce((s, label, i) => s - Math.log(probs.reduce((t, p) => t + p[i]![label]!, 0) / noises.length), 0) / y.length;
  const got = softSmoothedNll(model, x, labels, noises).dataSync()[0]!;
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
});
