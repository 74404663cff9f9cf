import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { crossEntropy } from './losses/cross-entropy.js';
import { CONSISTENCY_FORMS, consistencyLoss, type ConsistencyForm } from './losses/consistency.js';
import { stabilityLoss } from './losses/stability.js';
import { macerLoss } from './losses/macer.js';
import { smoothAdvAttack } from './attacks/smoothadv.js';
import type { NoiseSource } from './noise-source.js';

/*
 * A training method is a loss over noisy copies of a batch; the loop does not know which one
 * it runs. Per optimizer step the loop calls
 *   const step = method.prepare(model, { x, labels }, { noise, epoch });   // outside the tape
 *   const { loss, correct, numSamples, grads } = lossAndGrads(step, trainableVariables(model));
 *   step.dispose();
 * prepare() draws the noise and runs SmoothAdv's attack, which must not be differentiated
 * through (tfjs has no detach); step.loss() is the differentiable part, usable directly in
 * optimizer.minimize or tf.variableGrads.
 */

export const METHOD_NAMES = ['gaussian', 'consistency', 'smoothadv', 'stability', 'macer'] as const;
export type MethodName = (typeof METHOD_NAMES)[number];

/** Every option a method may take; each method accepts the keys of its METHODS[name].defaults. */
export interface MethodOptions {
  /** m: noisy copies of each image per step. */
  numNoise?: number;
  /** λ: weight of the regularizer (consistency, stability, MACER's robustness term). */
  lbd?: number;
  /** η: weight of the entropy term of consistency regularization. */
  eta?: number;
  form?: ConsistencyForm;
  /** SmoothAdv: L2 radius ε in [0, 1] pixel units. */
  epsilon?: number;
  /** SmoothAdv: PGD steps. */
  numSteps?: number;
  /** SmoothAdv: epochs over which ε grows linearly from ε/warmup to ε. */
  warmup?: number;
  /** MACER: hinge margin γ. */
  gamma?: number;
  /** MACER: inverse temperature β. */
  beta?: number;
  /** MACER: epochs trained with λ = 0 first (the reference's --deferred: while epoch ≤ its lr step size). */
  deferEpochs?: number;
}

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

const GAUSSIAN = { numNoise: 1 };
// λ = 10: the authors' default and the paper's CIFAR-10 and MNIST σ = 0.25 setting (MNIST σ ≥ 0.5 and ImageNet use 5).
const CONSISTENCY = { numNoise: 2, lbd: 10, eta: 0.5, form: 'default' as ConsistencyForm };
// The paper's fixed MNIST configuration (Supplementary B): 10-step PGD, ε = 1.0, m = 4; ε warm-up
// over 10 epochs (A.1); λ = 0 is plain SmoothAdv, λ > 0 adds consistency (the paper uses λ = 1).
const SMOOTHADV = { numNoise: 4, epsilon: 1, numSteps: 10, warmup: 10, lbd: 0, eta: 0.5, form: 'default' as ConsistencyForm };
// λ = 2: the paper's choice for MNIST and CIFAR-10 σ ≤ 0.5 (λ = 1 at CIFAR-10 σ = 1.0).
const STABILITY = { lbd: 2 };
// Zhai et al.'s defaults as used in the paper's MNIST runs (λ = 6 at σ = 1.0).
const MACER = { numNoise: 16, lbd: 16, gamma: 8, beta: 16, deferEpochs: 0 };

export const METHODS: { readonly [N in MethodName]: MethodSpec } = {
  gaussian: {
    description: 'Gaussian data augmentation (Cohen et al.): cross-entropy on noisy copies',
    defaults: GAUSSIAN,
    create(sigma, options = {}) {
      const o = resolve('gaussian', GAUSSIAN, options);
      return noisyCopiesMethod('gaussian', checkSigma(sigma), o, o.numNoise, {});
    },
  },
  consistency: {
    description: 'Gaussian augmentation + consistency regularization (Jeong & Shin, eq. 12)',
    defaults: CONSISTENCY,
    create(sigma, options = {}) {
      const o = resolve('consistency', CONSISTENCY, options);
      requireTwoCopies(o.numNoise);
      return noisyCopiesMethod('consistency', checkSigma(sigma), o, o.numNoise, { consistency: o });
    },
  },
  smoothadv: {
    description: 'SmoothAdv (Salman et al.): training on PGD examples against the soft smoothed classifier; + consistency when --lbd > 0',
    defaults: SMOOTHADV,
    create(sigma, options = {}) {
      const o = resolve('smoothadv', SMOOTHADV, options);
      if (o.lbd > 0) requireTwoCopies(o.numNoise);
      return noisyCopiesMethod('smoothadv', checkSigma(sigma), o, o.numNoise, { attack: o, ...(o.lbd > 0 ? { consistency: o } : {}) });
    },
  },
  stability: {
    description: 'Stability training (Li et al., eq. 9): CE on the clean image + λ·soft CE of the noisy one',
    defaults: STABILITY,
    create(sigma, options = {}) {
      return stabilityMethod(checkSigma(sigma), resolve('stability', STABILITY, options));
    },
  },
  macer: {
    description: 'MACER (Zhai et al.): CE of the soft smoothed classifier + hinge on its soft certified radius',
    defaults: MACER,
    create(sigma, options = {}) {
      return macerMethod(checkSigma(sigma), resolve('macer', MACER, options));
    },
  },
};

/** The training method `name` at noise level sigma; UserError for unknown names or bad options. */
export function createMethod(name: string, sigma: number, options: MethodOptions = {}): TrainingMethod {
  if (!(METHOD_NAMES as readonly string[]).includes(name)) {
    throw new UserError(`unknown training method "${name}"; choose one of: ${METHOD_NAMES.join(', ')}`);
  }
  return METHODS[name as MethodName].create(sigma, options);
}

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

// ---- the methods ----

interface NoisyCopiesTerms {
  /** Adds the consistency term with these weights. */
  consistency?: { lbd: number; eta: number; form: ConsistencyForm };
  /** Trains on SmoothAdv's adversarial images instead of the clean ones. */
  attack?: { epsilon: number; numSteps: number; warmup: number };
}

/**
 * Gaussian, consistency and SmoothAdv: m noise draws δ_i for the step's images, optionally
 * the attack x → x̂ over those same draws, then CE over the m·b copies x̂ + δ_i (one forward
 * pass of the concatenation, as the reference) plus the consistency term over the m chunks.
 */
function noisyCopiesMethod(
  name: MethodName, sigma: number, options: Readonly<Record<string, number | string>>, m: number, terms: NoisyCopiesTerms,
): TrainingMethod {
  const { consistency, attack } = terms;
  return {
    name, sigma, options, numNoise: m, splitsBatch: true,
    prepare(model, { x, labels }, { noise, epoch }) {
      const noises = drawNoise(noise, x, m, sigma);
      let clean = x;
      if (attack) {
        const { epsilon, numSteps, warmup } = attack;
        clean = smoothAdvAttack(model, x, labels, noises, { epsilon: Math.min(epsilon, ((epoch + 1) * epsilon) / warmup), numSteps });
      }
      const { inputs, targets } = stackCopies(clean, labels, noises);
      tf.dispose(noises);
      if (clean !== x) clean.dispose();
      return {
        numSamples: m * x.shape[0],
        loss() {
          const logits = model.apply(inputs, { training: true }) as tf.Tensor2D;
          let loss = crossEntropy(logits, targets);
          if (consistency) loss = tf.add(loss, consistencyLoss(splitCopies(logits, m), consistency.lbd, consistency.eta, consistency.form));
          return { loss, logits, labels: targets };
        },
        dispose: () => tf.dispose([inputs, targets]),
      };
    },
  };
}

/** Stability training: clean and noisy images in two forward passes, as the reference. */
function stabilityMethod(sigma: number, o: { lbd: number }): TrainingMethod {
  return {
    name: 'stability', sigma, options: o, numNoise: 1, splitsBatch: false,
    prepare(model, { x, labels }, { noise }) {
      const [delta] = drawNoise(noise, x, 1, sigma);
      const noisy = tf.add<tf.Tensor4D>(x, delta!);
      delta!.dispose();
      return {
        numSamples: x.shape[0],
        loss() {
          const clean = model.apply(x, { training: true }) as tf.Tensor2D;
          const logits = model.apply(noisy, { training: true }) as tf.Tensor2D;
          return { loss: stabilityLoss(clean, logits, labels, o.lbd), logits, labels };
        },
        dispose: () => noisy.dispose(),
      };
    },
  };
}

/** MACER: all m copies of the whole batch in one forward pass; λ = 0 for the first deferEpochs. */
function macerMethod(sigma: number, o: typeof MACER): TrainingMethod {
  const m = o.numNoise;
  return {
    name: 'macer', sigma, options: o, numNoise: m, splitsBatch: false,
    prepare(model, { x, labels }, { noise, epoch }) {
      const noises = drawNoise(noise, x, m, sigma);
      const { inputs, targets } = stackCopies(x, labels, noises);
      tf.dispose(noises);
      const lbd = epoch < o.deferEpochs ? 0 : o.lbd;
      return {
        numSamples: m * x.shape[0],
        loss() {
          const logits = model.apply(inputs, { training: true }) as tf.Tensor2D;
          const loss = macerLoss(splitCopies(logits, m), labels, { sigma, lbd, gamma: o.gamma, beta: o.beta });
          return { loss, logits, labels: targets };
        },
        dispose: () => tf.dispose([inputs, targets]),
      };
    },
  };
}

function drawNoise(noise: NoiseSource, x: tf.Tensor4D, m: number, sigma: number): tf.Tensor4D[] {
  return Array.from({ length: m }, () => noise.gaussian(x.shape, sigma) as tf.Tensor4D);
}

/** The m logit batches of stacked copies. tf.split into one piece breaks tfjs's gradient, hence the special case. */
function splitCopies(logits: tf.Tensor2D, m: number): tf.Tensor2D[] {
  return m === 1 ? [logits] : tf.split(logits, m);
}

/** The copies x + δ_i concatenated copy-major ([m·b, …], so tf.split gives copy i) and the labels repeated to match. */
function stackCopies(x: tf.Tensor4D, labels: tf.Tensor1D, noises: tf.Tensor4D[]): { inputs: tf.Tensor4D; targets: tf.Tensor1D } {
  return {
    inputs: tf.tidy(() => tf.concat(noises.map((d) => tf.add<tf.Tensor4D>(x, d)))),
    targets: tf.tile(labels, [noises.length]),
  };
}

// ---- options ----

const flag = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

type Check = (v: number | string) => string | undefined;
const nonNegative: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'a finite number ≥ 0');
const positive: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? undefined : 'a finite number > 0');
const integerAtLeast = (min: number): Check => (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min ? undefined : `an integer ≥ ${min}`);

const CHECKS: Record<keyof MethodOptions, Check> = {
  numNoise: integerAtLeast(1),
  lbd: nonNegative,
  eta: nonNegative,
  form: (v) => ((CONSISTENCY_FORMS as readonly unknown[]).includes(v) ? undefined : `one of ${CONSISTENCY_FORMS.join(', ')}`),
  epsilon: nonNegative,
  numSteps: integerAtLeast(1),
  warmup: integerAtLeast(1),
  gamma: nonNegative,
  beta: positive,
  deferEpochs: integerAtLeast(0),
};

/** Defaults overridden by the given options; UserError for an option the method does not take or a bad value. */
function resolve<O extends Record<string, number | string>>(method: MethodName, defaults: O, options: MethodOptions): O {
  const resolved: Record<string, number | string> = { ...defaults };
  for (const [key, value] of Object.entries(options) as Array<[keyof MethodOptions, number | string | undefined]>) {
    if (value === undefined) continue;
    if (!(key in defaults)) {
      throw new UserError(`option ${flag(key)} does not apply to method ${method} (its options: ${Object.keys(defaults).map(flag).join(', ')})`);
    }
    const problem = CHECKS[key](value);
    if (problem !== undefined) throw new UserError(`${flag(key)} must be ${problem}, got ${String(value)}`);
    resolved[key] = value;
  }
  return resolved as O;
}

function requireTwoCopies(numNoise: number): void {
  if (numNoise < 2) {
    throw new UserError(
      'consistency regularization needs m ≥ 2 noisy copies (the KL term vanishes at m = 1); pass --num-noise 2 or more',
    );
  }
}

function checkSigma(sigma: number): number {
  if (!(Number.isFinite(sigma) && sigma >= 0)) throw new UserError(`--sigma must be a finite number ≥ 0, got ${sigma}`);
  return sigma;
}
