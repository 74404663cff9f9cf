import * as tf from '@tensorflow/tfjs-core';
import { smoothAdvAttack } from '../attacks/smoothadv.js';
import { consistencyLoss, type ConsistencyForm } from '../losses/consistency.js';
import { crossEntropy } from '../losses/cross-entropy.js';
import type { MethodName, TrainingMethod } from '../method.js';
import { drawNoise, splitCopies, stackCopies } from './copies.js';

export interface NoisyCopiesTerms {
  /** Adds the consistency term with these weights. */
  consistency?: { lbd: number; eta: number; form: ConsistencyForm };
  /** Trains on SmoothAdv's adversarial images instead of the clean ones. */
  attack?: { epsilon: number; numSteps: number; warmup: number };
}

/**
 * Gaussian, consistency and SmoothAdv: m noise draws δ_i for the step's images, optionally
 * the attack x → x̂ over those same draws, then CE over the m·b copies x̂ + δ_i (one forward
 * pass of the concatenation, as the reference) plus the consistency term over the m chunks
 * (Jeong & Shin, eq. 12).
 */
export function noisyCopiesMethod(
  name: MethodName,
  sigma: number,
  options: Readonly<Record<string, number | string>>,
  m: number,
  terms: NoisyCopiesTerms,
): TrainingMethod {
  const { consistency, attack } = terms;
  return {
    name,
    sigma,
    options,
    numNoise: m,
    splitsBatch: true,
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
