import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Mulberry32 } from '../data/rng.js';
import { yieldToEventLoop } from '../base/event-loop.js';
import { philoxNoise, type NoiseSource } from '../noise/tensor-noise.js';
import { permutation, type TrainingData } from './batches.js';
import { crossEntropy } from './losses/cross-entropy.js';
import type { TrainingMethod } from './method.js';
import { Sgd, stepLr } from './sgd.js';
import { trainableVariables, trainStep, type StepInputs } from './step.js';

/** The loop's settings (paper, Supplementary A.1). */
export interface TrainerConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  lrMilestones: number[];
  lrGamma: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  seed: number;
}

/** Where a run stands between epochs: all that a resumed run needs besides the weights. */
export interface TrainerPosition {
  /** Epochs finished. */
  epoch: number;
  /** Optimizer steps taken: the training-noise stream of the next step. */
  step: number;
  /** State of the loader's shuffle/augmentation generator. */
  rng: number;
}

export interface EpochStats {
  epoch: number;
  lr: number;
  trainLoss: number;
  /** Percent of noisy training samples classified correctly. */
  trainAcc: number;
  samples: number;
}

export interface BatchProgress {
  images: number;
  samples: number;
  loss: number;
  acc: number;
}

/** Makes a step's noise source; a backend may supply a native one with the same stream. */
export type NoiseFactory = (seed: number, step: number) => NoiseSource;

/**
 * Runs a step's or an evaluation's synchronous work at the run's precision; a backend supplies
 * the bf16 one (backend/precision.ts), the default is float32 as it is.
 */
export type Arithmetic = <T>(work: () => T) => T;

/** Noise stream of per-epoch evaluation: the last one, which no training step reaches. */
const EVAL_STREAM = 0xffffffff;

/** The epoch was given up at a safe point because its signal was aborted; the position is unchanged. */
export class EpochAborted extends Error {
  constructor() {
    super('the epoch was interrupted');
    this.name = 'EpochAborted';
  }
}

/**
 * The training loop: SGD over shuffled loader batches, each split into optimizer steps as
 * the method requires (TrainingMethod.splitsBatch: B images → m steps of B/m images × m noisy
 * copies). Every source of randomness is a function of (seed, position), so a run resumed from
 * a checkpoint continues exactly as an uninterrupted one.
 */
export class Trainer {
  readonly optimizer: Sgd;
  private readonly variables: tf.Variable[];

  constructor(
    readonly model: tfl.LayersModel,
    readonly method: TrainingMethod,
    readonly config: TrainerConfig,
    readonly position: TrainerPosition = { epoch: 0, step: 0, rng: config.seed >>> 0 },
    private readonly noise: NoiseFactory = philoxNoise,
    private readonly arithmetic: Arithmetic = (work) => work(),
  ) {
    this.optimizer = new Sgd({ momentum: config.momentum, nesterov: config.nesterov, weightDecay: config.weightDecay });
    this.variables = trainableVariables(model);
  }

  get done(): boolean {
    return this.position.epoch >= this.config.epochs;
  }

  lrAt(epoch: number): number {
    return stepLr(this.config.lr, epoch, this.config.lrMilestones, this.config.lrGamma);
  }

  /**
   * Trains one epoch and advances the position. Between loader batches it yields to the event
   * loop (so signal handlers run) and, when `signal` is aborted, throws EpochAborted with the
   * position untouched: the epoch is redone from its start on resume, drawing the same noise.
   */
  async trainEpoch(data: TrainingData, onBatch?: (p: BatchProgress) => void, signal?: AbortSignal): Promise<EpochStats> {
    const { epoch } = this.position;
    const lr = this.lrAt(epoch);
    const rng = new Mulberry32(0);
    rng.setState(this.position.rng);
    const order = permutation(data.size, rng);
    const { batchSize } = this.config;
    const m = this.method.splitsBatch ? this.method.numNoise : 1;
    const [h, w, c] = data.shape;
    const d = h * w * c;
    let step = this.position.step;
    let lossSum = 0,
      correct = 0,
      samples = 0,
      images = 0;
    for (let start = 0; start < data.size; start += batchSize) {
      await yieldToEventLoop();
      if (signal?.aborted) throw new EpochAborted();
      const batch = await data.load(order.subarray(start, Math.min(start + batchSize, data.size)), rng);
      // Chunks of floor(B/m) images; the reference drops the remainder of a loader batch.
      const chunk = Math.floor(batch.size / m);
      if (chunk === 0) continue;
      for (let k = 0; k < m; k++) {
        const x = tf.tensor4d(batch.x.subarray(k * chunk * d, (k + 1) * chunk * d), [chunk, h, w, c]);
        const labels = tf.tensor1d(batch.labels.subarray(k * chunk, (k + 1) * chunk), 'int32');
        const inputs: StepInputs = {
          model: this.model,
          method: this.method,
          optimizer: this.optimizer,
          variables: this.variables,
          noise: this.noise(this.config.seed, step),
          epoch,
          lr,
        };
        try {
          const result = this.arithmetic(() => trainStep(inputs, { x, labels }));
          lossSum += result.loss * result.numSamples;
          correct += result.correct;
          samples += result.numSamples;
          images += chunk;
          onBatch?.({ images, samples, loss: result.loss, acc: (100 * result.correct) / result.numSamples });
        } finally {
          tf.dispose([x, labels]);
        }
        step++;
      }
    }
    this.position.step = step;
    this.position.rng = rng.getState();
    this.position.epoch++;
    return { epoch, lr, trainLoss: lossSum / Math.max(samples, 1), trainAcc: (100 * correct) / Math.max(samples, 1), samples };
  }

  /**
   * Loss and accuracy (percent) on test images under one draw of Gaussian noise each, as the
   * reference evaluates between epochs; the noise is the same for every epoch. At the run's
   * precision, as it trains.
   */
  async evaluate(
    x: Float32Array,
    labels: Int32Array,
    shape: [number, number, number],
    batchSize = 500,
  ): Promise<{ loss: number; acc: number }> {
    const d = shape[0] * shape[1] * shape[2];
    const n = labels.length;
    const noise = this.noise(this.config.seed, EVAL_STREAM);
    let lossSum = 0,
      correct = 0;
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      const [loss, hits] = this.arithmetic(() =>
        tf.tidy(() => {
          const clean = tf.tensor4d(x.subarray(start * d, (start + b) * d), [b, ...shape]);
          const logits = this.model.apply(tf.add(clean, noise.gaussian([b, ...shape], this.method.sigma)), {
            training: false,
          }) as tf.Tensor2D;
          const y = tf.tensor1d(labels.subarray(start, start + b), 'int32');
          return [crossEntropy(logits, y).dataSync()[0]!, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')).dataSync()[0]!];
        }),
      );
      lossSum += loss * b;
      correct += hits;
    }
    return { loss: lossSum / n, acc: (100 * correct) / n };
  }
}
