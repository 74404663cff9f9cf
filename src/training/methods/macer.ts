import * as tf from '@tensorflow/tfjs-core';
import { macerLoss } from '../losses/macer.js';
import type { TrainingMethod } from '../method.js';
import { drawNoise, splitCopies, stackCopies } from './copies.js';

export interface MacerOptions {
  numNoise: number;
  lbd: number;
  gamma: number;
  beta: number;
  deferEpochs: number;
}

/** MACER (Zhai et al.): all m copies of the whole batch in one forward pass; λ = 0 for the first deferEpochs. */
export function macerMethod(sigma: number, o: Readonly<MacerOptions>): TrainingMethod {
  const m = o.numNoise;
  return {
    name: 'macer',
    sigma,
    options: { ...o },
    numNoise: m,
    splitsBatch: false,
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
