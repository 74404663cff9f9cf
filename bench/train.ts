import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Precision } from '../src/backend/native-backend.js';
import { nativePhiloxNoise } from '../src/backend/noise.js';
import { arithmeticFor } from '../src/backend/precision.js';
import { createMethod } from '../src/training/methods.js';
import { Sgd } from '../src/training/sgd.js';
import { trainableVariables, trainStep } from '../src/training/step.js';
import { timeIt, type Measurement } from './measure.js';

/**
 * Consistency training (m noisy copies per image, the paper's SGD) on the active backend: each
 * optimizer step sees `noisySamples` noisy samples, i.e. noisySamples / m images, as in the
 * authors' loop, at `precision` as `smoothcert train --precision` runs it. The rate is in noisy
 * samples per second.
 */
export async function trainingThroughput(
  model: tfl.LayersModel,
  numClasses: number,
  noisySamples: number,
  m: number,
  sigma: number,
  seconds: number,
  minSteps = 2,
  precision: Precision = 'fp32',
): Promise<Measurement> {
  const arithmetic = arithmeticFor(precision);
  const method = createMethod('consistency', sigma, { numNoise: m });
  const sgd = new Sgd({ momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const variables = trainableVariables(model);
  const images = noisySamples / m;
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  const x = tf.randomUniform([images, h!, w!, c!], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.tensor1d(
    Array.from({ length: images }, (_, i) => i % numClasses),
    'int32',
  );
  let step = 0;
  try {
    // Two warm-up steps: the first builds the gradient graph's primitives, the second the optimizer's slots.
    return await timeIt(
      () =>
        arithmetic(
          () =>
            trainStep({ model, method, optimizer: sgd, variables, noise: nativePhiloxNoise(0, step++), epoch: 0, lr: 0.01 }, { x, labels })
              .numSamples,
        ),
      seconds,
      minSteps,
      2,
    );
  } finally {
    tf.dispose([x, labels]);
  }
}
