import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainingData } from '../../src/training/batches.js';
import type { TrainingMethod } from '../../src/training/method.js';
import { Trainer } from '../../src/training/trainer.js';

/** A method that records the images and labels of every optimizer step it is given. */
function recordingMethod(numNoise: number, splitsBatch: boolean, seen: { images: number[]; labels: number[][] }): TrainingMethod {
  return {
    name: 'gaussian',
    sigma: 0.1,
    options: {},
    numNoise,
    splitsBatch,
    prepare(model, { x, labels }) {
      seen.images.push(x.shape[0]);
      seen.labels.push(Array.from(labels.dataSync()));
      return {
        numSamples: x.shape[0] * numNoise,
        loss: () => {
          const logits = model.apply(tf.reshape(x, [x.shape[0], -1]), { training: true }) as tf.Tensor2D;
          return { loss: tf.mean(logits) as tf.Scalar, logits, labels };
        },
        dispose: () => {},
      };
    },
  };
}

/** Ten 1×1×1 images; image i has label i. */
const data: TrainingData = {
  size: 10,
  shape: [1, 1, 1],
  async load(indices) {
    const labels = Int32Array.from(indices);
    return { x: Float32Array.from(indices), labels, size: labels.length };
  },
};

const config = {
  epochs: 2,
  batchSize: 4,
  lr: 0.1,
  lrMilestones: [1],
  lrGamma: 0.1,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 0,
  seed: 3,
};

test('a loader batch of B images becomes m optimizer steps of floor(B/m) images, the rest dropped', async () => {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [1] })] });
  const seen = { images: [] as number[], labels: [] as number[][] };
  const trainer = new Trainer(model, recordingMethod(3, true, seen), config);
  const stats = await trainer.trainEpoch(data);
  // Loader batches of 4, 4, 2 images; m = 3 steps each of floor(B/3) = 1, 1, 0 images.
  assert.deepEqual(seen.images, [1, 1, 1, 1, 1, 1]);
  assert.equal(trainer.position.step, 6);
  assert.equal(stats.samples, 6 * 3);
  // Every step's images come from one loader batch, in order, without repeats.
  const flat = seen.labels.flat();
  assert.equal(new Set(flat).size, flat.length);
  assert.equal(stats.lr, 0.1);
  assert.equal(trainer.lrAt(1), 0.1 * 0.1);
});

test('a method that does not split takes the whole loader batch per step; epochs reshuffle', async () => {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [1] })] });
  const seen = { images: [] as number[], labels: [] as number[][] };
  const trainer = new Trainer(model, recordingMethod(16, false, seen), config);
  await trainer.trainEpoch(data);
  assert.deepEqual(seen.images, [4, 4, 2]);
  assert.deepEqual(
    [...seen.labels.flat()].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const first = seen.labels.flat();
  await trainer.trainEpoch(data);
  assert.notDeepEqual(seen.labels.slice(3).flat(), first, 'the second epoch has another order');
  assert.equal(trainer.done, true);
});
