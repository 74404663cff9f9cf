import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { saveModel } from '../../src/files/model-folder.js';
import type { ImageShape } from '../../src/base/shapes.js';

/**
 * Saves a small dense classifier with seeded random weights as a smoothcert model folder;
 * `fill` sets every weight to one value instead (NaN: a model whose training diverged).
 */
export async function saveTinyModel(dir: string, inputShape: ImageShape, numClasses = 10, sigma?: number, fill?: number): Promise<void> {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape }),
      tfl.layers.dense({ units: numClasses, kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  if (fill !== undefined) model.setWeights(model.getWeights().map((w) => tf.fill(w.shape, fill)));
  await saveModel(dir, model, {
    format: 'smoothcert-model',
    version: 1,
    arch: 'tiny-dense',
    dataset: 'test',
    inputShape,
    numClasses,
    normalization: { mean: [0], std: [1] },
    ...(sigma === undefined ? {} : { training: { sigma } }),
  });
  model.dispose();
  tf.disposeVariables();
}
