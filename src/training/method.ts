import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { NoiseSource } from '../noise/tensor-noise.js';
import type { MethodOptions } from './method-options.js';

/*
 * A training method is a loss over noisy copies of a batch; the loop does not know which one
 * it runs. Per optimizer step the loop (step.ts) calls
 *   const step = method.prepare(model, { x, labels }, { noise, epoch });   // outside the tape
 *   const { loss, correct, numSamples, grads } = lossAndGrads(step, trainableVariables(model));
 *   step.dispose();
 * prepare() draws the noise and runs SmoothAdv's attack, which must not be differentiated
 * through (tfjs has no detach); step.loss() is the differentiable part, usable directly in
 * optimizer.minimize or tf.variableGrads.
 */

export const METHOD_NAMES = ['gaussian', 'consistency', 'smoothadv', 'stability', 'macer'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

export type { MethodOptions } from './method-options.js';

/** The images of one optimizer step: x in [0, 1] NHWC, integer labels. Must outlive the step. */
export interface TrainBatch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
}

export interface StepContext {
  /** Noise of this step (e.g. philoxNoise(seed, globalStep)). */
  noise: NoiseSource;
  /** 0-based epoch: SmoothAdv's ε warm-up and MACER's deferral depend on it. */
  epoch: number;
}

export interface StepOutput {
  loss: tf.Scalar;
  /** Logits of the samples the training loss sees (for training accuracy). */
  logits: tf.Tensor2D;
  /** Labels aligned with the logits' rows (owned by the step or the batch: do not dispose). */
  labels: tf.Tensor1D;
}

export interface MethodStep {
  /** Rows of the logits: noisy samples seen by the loss. */
  readonly numSamples: number;
  /** The differentiable part: runs the model in training mode (batch-norm statistics update). */
  loss(): StepOutput;
  /** Frees the step's noisy inputs; call after the gradient step. */
  dispose(): void;
}

export interface TrainingMethod {
  readonly name: MethodName;
  readonly sigma: number;
  /** Resolved options (defaults filled in), e.g. for the training record in smoothcert.json. */
  readonly options: Readonly<Record<string, number | string>>;
  /** m: noisy copies per image. */
  readonly numNoise: number;
  /**
   * Batching rule of the reference (consistency, SmoothAdv): a loader batch of B images is
   * split into numNoise steps of B/numNoise images, each noised numNoise times, so one step sees
   * B noisy samples. When false, a step takes the whole loader batch (MACER: B·m samples).
   */
  readonly splitsBatch: boolean;
  prepare(model: tfl.LayersModel, batch: TrainBatch, ctx: StepContext): MethodStep;
}

export interface MethodSpec {
  readonly description: string;
  /** The options the method accepts and their defaults (the paper's settings). */
  readonly defaults: Readonly<Record<string, number | string>>;
  create(sigma: number, options?: MethodOptions): TrainingMethod;
}
