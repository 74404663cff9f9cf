import {
  backend_util,
  BatchMatMul,
  _FusedMatMul,
  util,
  type BatchMatMulAttrs,
  type _FusedMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs, type NativeBackend } from '../native-backend.js';
import { fusedActivation, fusedBias } from './fused-attrs.js';

/**
 * a·b over the outer (batch) dimensions, which must be equal or one of them a single matrix;
 * undefined for other broadcasts, which the CPU kernel handles.
 */
function matMul(
  backend: NativeBackend,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: Float32Array | null,
  activation: number,
  alpha: number,
): TensorInfo | undefined {
  const ra = a.shape.length,
    rb = b.shape.length;
  const aOuter = a.shape.slice(0, -2),
    bOuter = b.shape.slice(0, -2);
  const batchA = util.sizeFromShape(aOuter),
    batchB = util.sizeFromShape(bOuter);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (batchA === batchB && !util.arraysEqual(aOuter, bOuter)) return undefined;
  const outer = backend_util.assertAndGetBroadcastShape(aOuter, bOuter);
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const aDims = [batchA, a.shape[ra - 2]!, a.shape[ra - 1]!];
  const bDims = [batchB, b.shape[rb - 2]!, b.shape[rb - 1]!];
  const bf16 = backend.precision === 'bf16';
  return backend.output([...outer, m, n], (c) =>
    backend.addon.batchMatMul(backend.f32(a), aDims, backend.f32(b), bDims, c, transposeA, transposeB, bias, activation, alpha, bf16),
  );
}

const cpuBatchMatMul = cpuKernel(BatchMatMul);
function batchMatMul(args: KernelArgs<{ a: TensorInfo; b: TensorInfo }, BatchMatMulAttrs>): TensorInfo {
  const {
    inputs: { a, b },
    backend,
    attrs,
  } = args;
  if (!allFloat32(a, b)) return cpuBatchMatMul(args);
  return matMul(backend, a, b, attrs.transposeA, attrs.transposeB, null, 0, 0) ?? cpuBatchMatMul(args);
}

const cpuFusedMatMul = cpuKernel(_FusedMatMul);
function fusedMatMul(
  args: KernelArgs<{ a: TensorInfo; b: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo }, _FusedMatMulAttrs>,
): TensorInfo {
  const {
    inputs: { a, b, bias },
    backend,
    attrs,
  } = args;
  if (!allFloat32(a, b, bias)) return cpuFusedMatMul(args);
  const act = fusedActivation(attrs.activation);
  const n = attrs.transposeB ? b.shape[b.shape.length - 2]! : b.shape[b.shape.length - 1]!;
  const fb = bias === undefined ? null : fusedBias(backend, bias, n);
  if (act === undefined || fb === undefined) return cpuFusedMatMul(args);
  return matMul(backend, a, b, attrs.transposeA, attrs.transposeB, fb, act, attrs.leakyreluAlpha ?? 0.2) ?? cpuFusedMatMul(args);
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: NATIVE_BACKEND,
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
export const fusedMatMulConfig: KernelConfig = {
  kernelName: _FusedMatMul,
  backendName: NATIVE_BACKEND,
  kernelFunc: fusedMatMul as unknown as KernelFunc,
};
