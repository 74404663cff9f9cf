/**
 * Kernels smoothcert defines beyond tfjs's own: the contract between code that runs them
 * (training/) and backends that may implement them (backend/). Neither side imports the
 * other; both import this module, which depends on nothing.
 */

/**
 * One variable's SGD momentum update in one pass, with the same float32 roundings as the tfjs
 * ops of training/sgd.ts. Inputs { v, g, buf }, attributes SgdStepAttrs; outputs [new v, new buf].
 * A backend without it gets the tfjs-op path.
 */
export const SGD_STEP_KERNEL = 'SmoothcertSgdStep';

export interface SgdStepAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  [key: string]: number | boolean;
}

/**
 * Batch normalization of a training step in one kernel instead of tfjs's chain (moments:
 * Mean, Sub, Square, Mean; FusedBatchNorm), with statistics per channel (the last axis) over
 * every other axis. Inputs { x, scale, offset } (scale and offset: one value per channel),
 * attributes BatchNormAttrs; outputs [y, mean, variance], the variance biased (divided by the
 * count) as tf.moments computes it, which is also what the moving average takes.
 * A backend without it (or without BATCH_NORM_GRAD_KERNEL) gets the tfjs-op path.
 */
export const BATCH_NORM_TRAIN_KERNEL = 'SmoothcertBatchNormTrain';

/**
 * The gradient of BATCH_NORM_TRAIN_KERNEL through the batch statistics: inputs { dy, x, scale,
 * mean, variance } (the forward's x and scale, and its outputs mean and variance), attributes
 * BatchNormAttrs; outputs [dx, dscale, doffset].
 */
export const BATCH_NORM_GRAD_KERNEL = 'SmoothcertBatchNormTrainGrad';

export interface BatchNormAttrs {
  /** Added to the variance under the square root. */
  epsilon: number;
  [key: string]: number;
}
