import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SettingError } from '../base/errors.js';
import type { NoiseSource } from '../noise/tensor-noise.js';
import type { MethodStep, TrainBatch, TrainingMethod } from './method.js';
import type { Sgd } from './sgd.js';

/** The model's trainable tf.Variables (the list to differentiate and to apply weight decay to). */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

export interface StepResult {
  /** Value of the training loss. */
  loss: number;
  /** Samples whose argmax logit is the label, out of numSamples. */
  correct: number;
  numSamples: number;
  /** Gradient of the loss per variable name; the caller disposes them. */
  grads: tf.NamedTensorMap;
}

/** Forward and backward pass of one prepared step with respect to `variables`. */
export function lossAndGrads(step: MethodStep, variables: tf.Variable[]): StepResult {
  let correct = 0;
  const { value, grads } = tf.variableGrads(() => {
    const out = step.loss();
    correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), tf.cast(out.labels, 'int32')), 'int32')).dataSync()[0]!);
    return out.loss;
  }, variables);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return { loss, correct, numSamples: step.numSamples, grads };
}

/** The training loss became NaN or infinite: the run diverged (a learning rate too large, most often). */
export class DivergedError extends SettingError {
  constructor(readonly loss: number) {
    super(
      'lr',
      (name) =>
        `training diverged: the loss is ${loss}; lower the learning rate (${name('lr')}) and start again or resume from the last checkpoint`,
    );
  }
}

/** What one optimizer step needs besides the batch. */
export interface StepInputs {
  model: tfl.LayersModel;
  method: TrainingMethod;
  optimizer: Sgd;
  /** trainableVariables(model), computed once per run. */
  variables: tf.Variable[];
  noise: NoiseSource;
  epoch: number;
  lr: number;
}

/** Milliseconds spent in each phase of a step, summed over steps (for the profiler). */
export interface StepTimings {
  prepare: number;
  lossAndGrads: number;
  sgd: number;
}

/**
 * One optimizer step, the only place its sequence is written: the method prepares the step's
 * noisy inputs (and attack) outside the tape, the loss is differentiated, SGD updates the
 * weights, and every temporary is freed. Returns the loss and training accuracy of the step.
 */
export function trainStep(s: StepInputs, batch: TrainBatch, timings?: StepTimings): { loss: number; correct: number; numSamples: number } {
  const t0 = performance.now();
  const step = s.method.prepare(s.model, batch, { noise: s.noise, epoch: s.epoch });
  const t1 = performance.now();
  const result = lossAndGrads(step, s.variables);
  const t2 = performance.now();
  if (timings) {
    timings.prepare += t1 - t0;
    timings.lossAndGrads += t2 - t1;
  }
  if (!Number.isFinite(result.loss)) {
    // Before the update: the weights stay those of the last finite step.
    tf.dispose(Object.values(result.grads));
    step.dispose();
    throw new DivergedError(result.loss);
  }
  s.optimizer.step(s.variables, result.grads, s.lr);
  if (timings) timings.sgd += performance.now() - t2;
  tf.dispose(Object.values(result.grads));
  step.dispose();
  return { loss: result.loss, correct: result.correct, numSamples: result.numSamples };
}
