import { FusedBatchNorm, util, type FusedBatchNormAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL, type BatchNormAttrs } from '../../base/custom-kernels.js';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs, type NativeBackend } from '../native-backend.js';
import { foldBatchNorm, pendingBatchNorm } from './fusion.js';

type BatchNormIn = { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };

const cpuFusedBatchNorm = cpuKernel(FusedBatchNorm);
function fusedBatchNorm(args: KernelArgs<BatchNormIn, FusedBatchNormAttrs>): TensorInfo {
  const {
    inputs: { x, mean, variance, offset, scale },
    backend,
    attrs,
  } = args;
  if (!allFloat32(x, mean, variance, offset, scale)) return cpuFusedBatchNorm(args);
  const folded = foldBatchNorm(backend, x, {
    mean,
    variance,
    epsilon: attrs.varianceEpsilon,
    ...(offset ? { offset } : {}),
    ...(scale ? { scale } : {}),
  });
  if (folded !== undefined) return folded;
  // tfjs indexes each parameter modulo its length; the addon covers lengths 1 and one common
  // period that divides x (a per-channel vector over NHWC in every model here).
  const lengths = [mean, variance, offset, scale].filter((t) => t !== undefined).map((t) => util.sizeFromShape(t!.shape));
  const period = Math.max(...lengths);
  const size = util.sizeFromShape(x.shape);
  if (size % period !== 0 || lengths.some((l) => l !== 1 && l !== period)) return cpuFusedBatchNorm(args);
  return backend.output(x.shape, (y) =>
    backend.addon.fusedBatchNorm(
      backend.f32(x),
      y,
      backend.f32(mean),
      backend.f32(variance),
      offset ? backend.f32(offset) : null,
      scale ? backend.f32(scale) : null,
      attrs.varianceEpsilon,
      period,
    ),
  );
}

export const fusedBatchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm,
  backendName: NATIVE_BACKEND,
  kernelFunc: fusedBatchNorm as unknown as KernelFunc,
};

/** The channel count of x (its last axis), after checking that every per-channel input has that length. */
function channelsOf(kernelName: string, x: TensorInfo, perChannel: TensorInfo[]): number {
  const channels = x.shape[x.shape.length - 1] ?? 0;
  if (
    x.shape.length < 2 ||
    channels === 0 ||
    !allFloat32(x, ...perChannel) ||
    perChannel.some((t) => util.sizeFromShape(t.shape) !== channels)
  ) {
    throw new Error(`${kernelName} takes float32 x of rank ≥ 2 and one float32 value per channel (last axis) in each parameter`);
  }
  return channels;
}

/** The per-channel outputs of a batch-norm kernel: float32 vectors. */
function vector(backend: NativeBackend, values: Float32Array): TensorInfo {
  return backend.makeTensorInfo([values.length], 'float32', values);
}

/**
 * custom-kernels.ts's training-mode batch norm: the statistics now, the normalized output as a
 * pending tensor that a following Relu computes rectified instead, in the same pass (fusion.ts).
 */
function batchNormTrain(args: KernelArgs<{ x: TensorInfo; scale: TensorInfo; offset: TensorInfo }, BatchNormAttrs>): TensorInfo[] {
  const {
    inputs: { x, scale, offset },
    backend,
    attrs,
  } = args;
  const channels = channelsOf(BATCH_NORM_TRAIN_KERNEL, x, [scale, offset]);
  const meanValues = new Float32Array(channels),
    varianceValues = new Float32Array(channels);
  backend.addon.batchNormStats(backend.f32(x), channels, meanValues, varianceValues);
  const mean = vector(backend, meanValues),
    variance = vector(backend, varianceValues);
  return [pendingBatchNorm(backend, { kind: 'batchNorm', x, mean, variance, scale, offset, epsilon: attrs.epsilon }), mean, variance];
}

/** Its gradient: dx, dscale, doffset in two native passes. */
function batchNormTrainGrad(
  args: KernelArgs<{ dy: TensorInfo; x: TensorInfo; scale: TensorInfo; mean: TensorInfo; variance: TensorInfo }, BatchNormAttrs>,
): TensorInfo[] {
  const {
    inputs: { dy, x, scale, mean, variance },
    backend,
    attrs,
  } = args;
  const channels = channelsOf(BATCH_NORM_GRAD_KERNEL, x, [scale, mean, variance]);
  if (!allFloat32(dy) || !util.arraysEqual(dy.shape, x.shape)) throw new Error(`${BATCH_NORM_GRAD_KERNEL} takes float32 dy of x's shape`);
  const dscale = new Float32Array(channels),
    doffset = new Float32Array(channels);
  const dx = backend.output(x.shape, (out) =>
    backend.addon.batchNormTrainGrad(
      backend.f32(dy),
      backend.f32(x),
      channels,
      backend.f32(scale),
      backend.f32(mean),
      backend.f32(variance),
      attrs.epsilon,
      out,
      dscale,
      doffset,
    ),
  );
  return [dx, vector(backend, dscale), vector(backend, doffset)];
}

export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_KERNEL,
  backendName: NATIVE_BACKEND,
  kernelFunc: batchNormTrain as unknown as KernelFunc,
};
export const batchNormTrainGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_GRAD_KERNEL,
  backendName: NATIVE_BACKEND,
  kernelFunc: batchNormTrainGrad as unknown as KernelFunc,
};
