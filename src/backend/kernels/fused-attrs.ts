import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ACTIVATION } from '../addon.js';
import type { NativeBackend } from '../native-backend.js';

// The attributes of tfjs's own fused kernels (FusedConv2D, _FusedMatMul) in the addon's terms.
// Fusions the native backend makes itself, across kernels, are in fusion.ts.

/** The addon's code for a tfjs fused activation, or undefined for one it lacks (prelu). */
export function fusedActivation(name: string | undefined): number | undefined {
  const act = name ?? 'linear';
  return act in ACTIVATION ? ACTIVATION[act as keyof typeof ACTIVATION] : undefined;
}

/** Whether t holds one value per channel of the last axis (a bias, or a batch norm's parameters). */
export function perChannel(t: TensorInfo, channels: number): boolean {
  return t.shape.reduce((a, b) => a * b, 1) === channels && t.shape[t.shape.length - 1] === channels;
}

/**
 * A fused bias as one value per output channel, or undefined when its shape does not broadcast
 * that way (the caller then falls back to the CPU kernel).
 */
export function fusedBias(backend: NativeBackend, bias: TensorInfo, channels: number): Float32Array | undefined {
  if (perChannel(bias, channels)) return backend.f32(bias);
  if (bias.shape.reduce((a, b) => a * b, 1) === 1) return new Float32Array(channels).fill(backend.f32(bias)[0]!);
  return undefined;
}
