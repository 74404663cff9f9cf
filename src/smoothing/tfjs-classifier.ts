import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { ImageShape } from '../base/shapes.js';
import { argMaxRows, type BaseClassifier } from './classifier.js';

/** Any tfjs model, or a function from a NHWC batch in [0, 1] to logits [batch, classes]. */
export type TfjsModel = LayersModel | ((x: tf.Tensor4D) => tf.Tensor);

/**
 * Wraps a tfjs model as a BaseClassifier. Input shape and class count are read from a
 * LayersModel; a plain function must state them.
 */
export function tfjsClassifier(model: TfjsModel, shape?: { inputShape: ImageShape; numClasses: number }): BaseClassifier {
  const forward = typeof model === 'function' ? model : (x: tf.Tensor4D) => model.apply(x, { training: false }) as tf.Tensor;
  const { inputShape, numClasses } = shape ?? shapeOf(model as LayersModel);
  const logits = async (batch: Float32Array, batchSize: number): Promise<Float32Array> => {
    const out = tf.tidy(() => forward(tf.tensor4d(batch, [batchSize, ...inputShape])));
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  };
  return {
    inputShape,
    numClasses,
    logits,
    async classify(batch: Float32Array, batchSize: number): Promise<Int32Array> {
      return argMaxRows(await logits(batch, batchSize), batchSize, numClasses);
    },
  };
}

function shapeOf(model: LayersModel): { inputShape: ImageShape; numClasses: number } {
  const input = model.inputs[0]!.shape;
  const output = model.outputs[0]!.shape;
  if (input.length !== 4 || input.slice(1).some((s) => s === null) || output.length !== 2 || output[1] === null) {
    throw new RangeError(
      `expected a model from [batch, H, W, C] images to [batch, classes] logits; got ${JSON.stringify(input)} → ${JSON.stringify(output)}`,
    );
  }
  return { inputShape: input.slice(1) as ImageShape, numClasses: output[1]! };
}
