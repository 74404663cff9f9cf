import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SGD_STEP_KERNEL } from '../../src/base/custom-kernels.js';
import { Sgd, type SgdOptions } from '../../src/training/sgd.js';
import { ENGINE, ENGINE_TFJS, rand } from './parity.js';

/** Weights and momentum after three steps of Sgd on `backend`, from the same seeded start. */
async function train(backend: string, options: SgdOptions): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const w = tf.variable(rand([3001], 1), true, `w-${backend}`);
  const sgd = new Sgd(options);
  for (let s = 0; s < 3; s++) {
    const g = rand([3001], 10 + s, -2, 2);
    sgd.step([w], { [w.name]: g }, 0.05 * (s + 1));
    g.dispose();
  }
  const out = [w.dataSync() as Float32Array, sgd.getState()[w.name]!.values];
  w.dispose();
  sgd.dispose();
  return out;
}

// The native backend runs Sgd's update as one fused kernel; it must round exactly as the
// op-by-op update on the CPU backend (tfjs ops in JS numbers, each result stored as float32).
for (const options of [
  { momentum: 0.9, nesterov: true, weightDecay: 1e-4 },
  { momentum: 0.9, nesterov: false, weightDecay: 1e-4 },
  { momentum: 0.5, nesterov: true, weightDecay: 0 },
]) {
  test(`SGD ${JSON.stringify(options)} on ${ENGINE} equals the CPU backend bit for bit`, async () => {
    if (ENGINE === 'native') assert.ok(tf.getKernel(SGD_STEP_KERNEL, ENGINE_TFJS), 'the native backend registers the fused SGD kernel');
    const expected = await train('cpu', options);
    const got = await train(ENGINE_TFJS, options);
    await tf.setBackend(ENGINE_TFJS);
    for (const [i, name] of ['weights', 'momentum'].entries()) {
      const mismatch = got[i]!.findIndex((v, j) => !Object.is(v, expected[i]![j]));
      assert.equal(mismatch, -1, `${name}[${mismatch}]: ${got[i]![mismatch]} vs ${expected[i]![mismatch]}`);
    }
  });
}
