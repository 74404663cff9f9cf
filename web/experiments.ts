import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  fillGaussian,
  noisyCopies,
  logProbGaps,
  smoothAdvAttack,
  Smooth,
  SUBSTREAM,
  tfjsClassifier,
  type BaseClassifier,
  type CertifyResult,
  type NoiseKey,
} from '../src/browser.js';

// What the playground computes, on the library's own code: CERTIFY through Smooth, the gaps of
// Figure 1 over the same Philox noise, and the targeted SmoothAdv attack.

export interface Settings {
  sigma: number;
  n: number;
  n0: number;
  alpha: number;
  seed: number;
  batch: number;
  /** The noise stream: a test image's index, as the CLI's certify uses, so the page repeats its row. */
  stream: number;
}

export interface Certification extends CertifyResult {
  /** Votes of the n0 selection samples and of the n estimation samples, per class. */
  selection: number[];
  counts: number[];
  /** The first few noisy copies x + δ that voted in the estimation, as the classifier saw them. */
  copies: Float32Array[];
}

/**
 * Smooth.certify with the votes behind it recorded: a classifier that passes every call through and
 * keeps the labels in order. Smooth draws the n0 selection samples first in batches of their own, so
 * the first n0 labels are the selection's and the rest the estimation's.
 */
export async function certifyWithVotes(
  model: LayersModel,
  x: Float32Array,
  s: Settings,
  signal: AbortSignal,
  copies = 4,
): Promise<Certification> {
  const base = tfjsClassifier(model);
  const labels: number[] = [];
  const seen: Float32Array[] = [];
  const d = x.length;
  const recording: BaseClassifier = {
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    async classify(batch, batchSize) {
      if (labels.length === s.n0) for (let i = 0; i < Math.min(copies, batchSize); i++) seen.push(batch.slice(i * d, (i + 1) * d));
      const out = await base.classify(batch, batchSize);
      labels.push(...out);
      return out;
    },
  };
  const result = await new Smooth(recording, s.sigma, s.seed, { signal }).certify(x, s.n0, s.n, s.alpha, s.batch, s.stream);
  const tally = (from: number, to: number) => {
    const counts = new Array<number>(base.numClasses).fill(0);
    for (let i = from; i < to; i++) counts[labels[i]!]!++;
    return counts;
  };
  return { ...result, selection: tally(0, s.n0), counts: tally(s.n0, labels.length), copies: seen };
}

/**
 * Figure 1's log-probability gaps of class y for `num` noise draws: the first `num` estimation draws
 * of the certification, so the histogram describes the very samples that voted.
 */
export async function gapSamples(model: LayersModel, x: Float32Array, y: number, num: number, s: Settings): Promise<Float64Array> {
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const key: NoiseKey = { seed: s.seed, stream: s.stream, substream: SUBSTREAM.estimate };
  const gaps = new Float64Array(num);
  for (let done = 0; done < num; done += s.batch) {
    const size = Math.min(s.batch, num - done);
    const batch = new Float32Array(size * x.length);
    noisyCopies(batch, x, key, done, s.sigma);
    const logits = tf.tidy(() => model.predict(tf.tensor(batch, [size, ...shape])) as tf.Tensor2D);
    const values = await logits.data();
    gaps.set(logProbGaps(values, size, logits.shape[1], y), done);
    logits.dispose();
  }
  return gaps;
}

/** Noise draws of the attack: their own Philox stream, apart from certification's. */
const ATTACK_SUBSTREAM = SUBSTREAM.train;
const ATTACK_DRAWS = 16;

/**
 * The runner-up of the soft smoothed classifier (mean softmax over the attack's noise draws,
 * `exclude` left out) and x moved toward it by `steps` PGD steps within an L2 ball of radius
 * `epsilon` (smoothAdvAttack, targeted). Returns the perturbed image and its class.
 */
export function perturbTowardRunnerUp(
  model: LayersModel,
  x: Float32Array,
  exclude: number,
  epsilon: number,
  steps: number,
  s: Settings,
): { adversarial: Float32Array; target: number } {
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const key: NoiseKey = { seed: s.seed, stream: s.stream, substream: ATTACK_SUBSTREAM };
  return tf.tidy(() => {
    const noises = Array.from({ length: ATTACK_DRAWS }, (_, i) => {
      const values = new Float32Array(x.length);
      fillGaussian(values, key, i * x.length, s.sigma);
      return tf.tensor4d(values, [1, ...shape] as [number, number, number, number]);
    });
    const image = tf.tensor4d(x, [1, ...shape] as [number, number, number, number]);
    const soft = tf.mean(tf.softmax(model.predict(tf.concat(noises.map((n) => tf.add(image, n)))) as tf.Tensor2D), 0);
    const probs = soft.dataSync();
    let target = exclude === 0 ? 1 : 0;
    for (let c = 0; c < probs.length; c++) if (c !== exclude && probs[c]! > probs[target]!) target = c;
    const adversarial = smoothAdvAttack(model, image, tf.tensor1d([target]), noises, { epsilon, numSteps: steps, towards: true });
    return { adversarial: adversarial.dataSync() as Float32Array, target };
  });
}
