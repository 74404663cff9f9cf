import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Sgd, stepLr } from '../../src/training/sgd.js';

test('SGD with Nesterov momentum and weight decay follows PyTorch’s update rule', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor1d([1, -2]), true, 'w');
  const opt = new Sgd({ momentum: 0.9, nesterov: true, weightDecay: 0.1 });
  // Hand computation with gradients g1 = (0.5, 0.5), g2 = (1, 0), lr = 0.1:
  // step 1: d = g + 0.1·w = (0.6, 0.3); b = d; w −= 0.1·(d + 0.9·b) = 0.1·1.9·d → (0.886, −2.057)
  // step 2: d = (1 + 0.0886, 0 − 0.2057) = (1.0886, −0.2057); b = 0.9·(0.6, 0.3) + d = (1.6286, 0.0643)
  //         w −= 0.1·(d + 0.9·b) = 0.1·(2.55434, −0.14783) → (0.630566, −2.042217)
  opt.step([w], { w: tf.tensor1d([0.5, 0.5]) }, 0.1);
  assert.deepEqual(
    Array.from(w.dataSync(), (v) => +v.toFixed(6)),
    [0.886, -2.057],
  );
  opt.step([w], { w: tf.tensor1d([1, 0]) }, 0.1);
  const got = Array.from(w.dataSync());
  [0.630566, -2.042217].forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-5, `${got[i]} vs ${v}`));
});

test('momentum state round-trips through getState/setState', async () => {
  const run = (restore: boolean) => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, 'v');
    let opt = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
    opt.step([w], { v: tf.tensor1d([1, -1, 0.5]) }, 0.05);
    if (restore) {
      const state = opt.getState();
      opt.dispose();
      opt = new Sgd(opt.options);
      opt.setState(state);
    }
    opt.step([w], { v: tf.tensor1d([0.2, 0.3, -0.4]) }, 0.05);
    const out = Array.from(w.dataSync());
    w.dispose();
    opt.dispose();
    return out;
  };
  assert.deepEqual(run(true), run(false));
});

test('step decay drops the learning rate at each milestone', () => {
  const lrs = [0, 29, 30, 59, 60, 89].map((e) => stepLr(0.01, e, [30, 60], 0.1));
  [0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001].forEach((v, i) => assert.ok(Math.abs(lrs[i]! - v) < 1e-15));
});
