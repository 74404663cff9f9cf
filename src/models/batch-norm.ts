import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers'; // registers its BatchNormalization class, the parent taken below
import type * as tfl from '@tensorflow/tfjs-layers';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL, type BatchNormAttrs } from '../base/custom-kernels.js';

/** The normalized batch and the per-channel statistics it was normalized with. */
export interface BatchNormOutput {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  /** Biased: divided by the number of values per channel. */
  variance: tf.Tensor1D;
}

/** True when the active backend runs both custom batch-norm kernels. */
function hasKernels(): boolean {
  const backend = tf.getBackend();
  return tf.getKernel(BATCH_NORM_TRAIN_KERNEL, backend) !== undefined && tf.getKernel(BATCH_NORM_GRAD_KERNEL, backend) !== undefined;
}

/**
 * Batch normalization in training mode over the last axis (channels): statistics over every
 * other axis, y = β + γ·(x − mean)/√(variance + ε). On a backend with the custom kernels
 * (custom-kernels.ts) that is one kernel forward and one backward; elsewhere it is exactly the
 * tfjs ops tfjs-layers' BatchNormalization runs (tf.moments, then tf.batchNorm), so the CPU
 * and wasm backends compute what they always did.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormOutput {
  if (!hasKernels() || x.dtype !== 'float32' || x.rank < 2) {
    const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
    return { y: tf.batchNorm(x, mean, variance, beta, gamma, epsilon), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const attrs: BatchNormAttrs = { epsilon };
  let stats: tf.Tensor[] = [];
  const y = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, scale, offset, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [out, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN_KERNEL, { x: input, scale, offset }, attrs) as tf.Tensor[];
    save([input, scale, mean!, variance!]);
    // customGrad runs this function in a tidy that keeps only `value`: the statistics leave it kept.
    stats = [tf.keep(mean!), tf.keep(variance!)];
    return {
      value: out!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sScale, sMean, sVariance] = saved;
        return tf
          .engine()
          .runKernel(BATCH_NORM_GRAD_KERNEL, { dy, x: sx!, scale: sScale!, mean: sMean!, variance: sVariance! }, attrs) as tf.Tensor[];
      },
    };
  })(x, gamma, beta);
  // Clones belong to the caller's scope (a tidy frees them); the kept originals are let go.
  const out = { y, mean: stats[0]!.clone() as tf.Tensor1D, variance: stats[1]!.clone() as tf.Tensor1D };
  tf.dispose(stats);
  return out;
}

type BatchNormalization = ReturnType<typeof tfl.layers.batchNormalization>;
type BatchNormalizationArgs = Parameters<typeof tfl.layers.batchNormalization>[0];
type Kwargs = Parameters<BatchNormalization['call']>[1];

/** The private state of tfjs-layers' BatchNormalization that the training path reads. */
interface BatchNormalizationState {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tfl.LayerVariable;
  beta: tfl.LayerVariable;
  movingMean: tfl.LayerVariable;
  movingVariance: tfl.LayerVariable;
}

/**
 * tfjs-layers' own class, from the registry its module fills on import: tfjs-layers exports
 * only a factory, and calling it here would take a layer name from the global counter.
 */
const TfjsBatchNormalization = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization![0] as unknown as (new (
  args?: BatchNormalizationArgs,
) => BatchNormalization) &
  Pick<typeof tfl.layers.Layer, 'fromConfig'>;

/** variable ← variable − (variable − value)·(1 − momentum): tfjs-layers' moving average, op for op. */
function movingAverage(variable: tfl.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const old = variable.read();
    variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - momentum)));
  });
}

/**
 * tfjs-layers' BatchNormalization whose training mode goes through batchNormTraining (so the
 * native backend runs its fused kernels); inference and every other configuration are the
 * parent's. It takes the parent's class name in the serialization registry, so saved models
 * (model.json says "BatchNormalization") load as this class and resumed training is fused too;
 * saved files are unchanged.
 */
export class BatchNorm extends TfjsBatchNormalization {
  static readonly className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const s = this as unknown as BatchNormalizationState;
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = (kwargs.training ?? false) as boolean;
    const channelsLast = x !== undefined && (s.axis === -1 || s.axis === x.rank - 1);
    if (!training || !channelsLast || !s.center || !s.scale || (Array.isArray(inputs) && inputs.length !== 1))
      return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(x, s.gamma.read() as tf.Tensor1D, s.beta.read() as tf.Tensor1D, s.epsilon);
      movingAverage(s.movingMean, mean, s.momentum);
      movingAverage(s.movingVariance, variance, s.momentum);
      return y;
    });
  }
}
tf.serialization.registerClass(BatchNorm);
