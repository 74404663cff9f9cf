import * as tf from '@tensorflow/tfjs-core';
import { SettingError } from '../base/errors.js';
import type { Arithmetic } from '../training/trainer.js';
import { NativeBackend, type Precision } from './native-backend.js';

/**
 * The arithmetic of a training run at `precision`: fp32 runs the work as it is; bf16 runs it with
 * the native backend's convolutions and products in bf16 (NativeBackend.withPrecision), and is
 * refused, as the SettingError of `key`, off the native backend or on a CPU without bf16 units
 * (oneDNN's effective ISA, so DNNL_MAX_CPU_ISA=AVX2 counts as lacking them).
 */
export function arithmeticFor(precision: Precision, key = 'precision'): Arithmetic {
  if (precision === 'fp32') return (work) => work();
  const backend = tf.backend();
  if (!(backend instanceof NativeBackend)) {
    throw new SettingError(
      key,
      (name) =>
        `${name(key)} bf16 runs on the native backend (oneDNN) only, and this run uses ${tf.getBackend()}; leave it out to train in fp32`,
    );
  }
  if (!backend.addon.info().bf16) {
    throw new SettingError(
      key,
      (name) =>
        `${name(key)} bf16 needs a CPU with AVX512-BF16 or AMX (oneDNN's avx512_core_bf16), which this one lacks (or DNNL_MAX_CPU_ISA hides); leave it out to train in fp32`,
    );
  }
  return (work) => backend.withPrecision('bf16', work);
}
