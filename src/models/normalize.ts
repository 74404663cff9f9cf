import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Normalization } from './meta.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

export interface NormalizeArgs extends Normalization, LayerArgs {}

/**
 * (x - mean) / std per channel (last axis, NHWC). It is the model's first layer so that
 * Gaussian noise is added in [0, 1] pixel space, before normalization, as randomized
 * smoothing certifies radii in those coordinates (paper, Supplementary A.2).
 */
export class Normalize extends tfl.layers.Layer {
  static readonly className = 'Normalize';
  readonly mean: number[];
  readonly std: number[];

  constructor(args: NormalizeArgs) {
    super(args);
    if (args.mean.length !== args.std.length || args.mean.length === 0) {
      throw new Error(`Normalize: mean (${args.mean.length}) and std (${args.std.length}) need one entry per channel`);
    }
    if (args.std.some((s) => !(s > 0))) throw new Error(`Normalize: std must be positive, got [${args.std.join(', ')}]`);
    this.mean = [...args.mean];
    this.std = [...args.std];
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      // Subtract then divide (not a fused scale and shift) to round as the reference does.
      return tf.div(tf.sub(x, tf.tensor1d(this.mean)), tf.tensor1d(this.std));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mean: this.mean, std: this.std };
  }
}
tf.serialization.registerClass(Normalize);
