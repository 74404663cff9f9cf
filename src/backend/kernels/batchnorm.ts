import { FusedBatchNorm, util, type FusedBatchNormAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs } from '../native-backend.js';

type BatchNormIn = { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };

const cpuFusedBatchNorm = cpuKernel(FusedBatchNorm);
function fusedBatchNorm(args: KernelArgs<BatchNormIn, FusedBatchNormAttrs>): TensorInfo {
  const { inputs: { x, mean, variance, offset, scale }, backend, attrs } = args;
  if (!allFloat32(x, mean, variance, offset, scale)) return cpuFusedBatchNorm(args);
  // tfjs indexes each parameter modulo its length; the addon covers lengths 1 and one common
  // period that divides x (a per-channel vector over NHWC in every model here).
  const lengths = [mean, variance, offset, scale].filter((t) => t !== undefined).map((t) => util.sizeFromShape(t!.shape));
  const period = Math.max(...lengths);
  const size = util.sizeFromShape(x.shape);
  if (size % period !== 0 || lengths.some((l) => l !== 1 && l !== period)) return cpuFusedBatchNorm(args);
  return backend.output(x.shape, (y) => backend.addon.fusedBatchNorm(backend.f32(x), y, backend.f32(mean), backend.f32(variance),
    offset ? backend.f32(offset) : null, scale ? backend.f32(scale) : null, attrs.varianceEpsilon, period));
}

export const fusedBatchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm, backendName: NATIVE_BACKEND, kernelFunc: fusedBatchNorm as unknown as KernelFunc,
};
