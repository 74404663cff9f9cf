import * as tf from '@tensorflow/tfjs-core';
import { SGD_STEP_KERNEL, type SgdStepAttrs } from '../base/custom-kernels.js';

export interface SgdOptions {
  momentum: number;
  nesterov: boolean;
  /** L2 penalty added to the gradient (PyTorch's SGD weight_decay), applied to every parameter. */
  weightDecay: number;
}

/** Momentum buffers by variable name: what a checkpoint must keep to resume exactly. */
export type SgdState = Record<string, { shape: number[]; values: Float32Array }>;

/**
 * SGD with momentum and weight decay as PyTorch computes it (the paper's Supplementary A.1:
 * Nesterov momentum 0.9, weight decay 1e-4, no dampening):
 *   d = g + wd·w;  b ← μ·b + d;  w ← w − lr·(nesterov ? d + μ·b : b).
 * Written here rather than using tf.train.momentum so that weight decay matches and the
 * state can be checkpointed.
 */
export class Sgd {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(readonly options: SgdOptions) {}

  step(variables: readonly tf.Variable[], grads: tf.NamedTensorMap, lr: number): void {
    const { momentum, nesterov, weightDecay } = this.options;
    const fused = momentum > 0 && tf.getKernel(SGD_STEP_KERNEL, tf.getBackend()) !== undefined;
    tf.tidy(() => {
      for (const v of variables) {
        const g = grads[v.name];
        if (!g) continue;
        if (fused) {
          const buf = this.buffer(v);
          const attrs: SgdStepAttrs = { lr, momentum, weightDecay, nesterov };
          const [w, b] = tf.engine().runKernel(SGD_STEP_KERNEL, { v, g, buf }, attrs) as tf.Tensor[];
          buf.assign(b!);
          v.assign(w!);
          continue;
        }
        const d = weightDecay > 0 ? tf.add(g, tf.mul(v, weightDecay)) : g;
        let update = d;
        if (momentum > 0) {
          const buf = this.buffer(v);
          buf.assign(tf.add(tf.mul(buf, momentum), d));
          update = nesterov ? tf.add(d, tf.mul(buf, momentum)) : buf;
        }
        v.assign(tf.sub(v, tf.mul(update, lr)));
      }
    });
  }

  /** The momentum buffer of v, zero on first use. */
  private buffer(v: tf.Variable): tf.Variable {
    let buf = this.buffers.get(v.name);
    if (!buf) {
      buf = tf.tidy(() => tf.variable(tf.zerosLike(v), false, `${v.name}/momentum`));
      this.buffers.set(v.name, buf);
    }
    return buf;
  }

  getState(): SgdState {
    const state: SgdState = {};
    for (const [name, buf] of this.buffers) state[name] = { shape: buf.shape, values: buf.dataSync() as Float32Array };
    return state;
  }

  setState(state: SgdState): void {
    this.dispose();
    for (const [name, { shape, values }] of Object.entries(state)) {
      this.buffers.set(name, tf.variable(tf.tensor(values, shape), false, `${name}/momentum`));
    }
  }

  dispose(): void {
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
  }
}

/** Step decay: lr·gamma^(number of milestones ≤ epoch), epochs counted from 0. */
export function stepLr(lr: number, epoch: number, milestones: readonly number[], gamma: number): number {
  return lr * gamma ** milestones.filter((m) => epoch >= m).length;
}
