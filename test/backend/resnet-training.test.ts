import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DATASETS } from '../../src/data/datasets.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { philoxNoise } from '../../src/noise/tensor-noise.js';
import { createMethod } from '../../src/training/methods.js';
import { Sgd } from '../../src/training/sgd.js';
import { trainableVariables, trainStep } from '../../src/training/step.js';
import { ENGINE, ENGINE_TFJS, rand } from './parity.js';

const STEPS = 3;

/**
 * The losses of STEPS consistency-training steps (m = 2, the paper's SGD, CIFAR's learning rate)
 * of a ResNet-20 on `backend`, from the same seeded weights, images and noise. 8×8 images (the
 * last stage 2×2) keep the CPU backend's part to seconds; every layer runs as on CIFAR.
 */
async function losses(backend: string): Promise<number[]> {
  await tf.setBackend(backend);
  const data = DATASETS.cifar10;
  const shape: [number, number, number] = [8, 8, 3];
  const model = ARCHITECTURES.cifar_resnet20.build({
    numClasses: data.numClasses,
    inputShape: shape,
    normalization: data.normalization,
    seed: 7,
  });
  const method = createMethod('consistency', 0.25, { numNoise: 2 });
  const optimizer = new Sgd({ momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const variables = trainableVariables(model);
  const x = rand([4, ...shape], 20, 0, 1) as tf.Tensor4D;
  const labels = tf.tensor1d([3, 1, 4, 1], 'int32');
  const out: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    out.push(trainStep({ model, method, optimizer, variables, noise: philoxNoise(1, step), epoch: 0, lr: 0.1 }, { x, labels }).loss);
  }
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return out;
}

test(`ResNet-20 consistency training: the same losses step after step on ${ENGINE} and the CPU backend`, async () => {
  const expected = await losses('cpu');
  let got;
  try {
    got = await losses(ENGINE_TFJS);
  } finally {
    await tf.setBackend(ENGINE_TFJS);
  }
  // float32 differences of ~1e-7 in the gradients, carried through the weights for a few steps.
  got.forEach((loss, i) =>
    assert.ok(
      Math.abs(loss - expected[i]!) <= 1e-5 + 1e-4 * Math.abs(expected[i]!),
      `step ${i}: ${loss} on ${ENGINE}, ${expected[i]} on cpu`,
    ),
  );
});
