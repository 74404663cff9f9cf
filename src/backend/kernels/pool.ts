import {
  AvgPool,
  AvgPoolGrad,
  backend_util,
  MaxPool,
  MaxPoolGrad,
  type AvgPoolAttrs,
  type AvgPoolGradAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolAttrs,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs } from '../native-backend.js';
import { maxPoolGradInto, type MaxPoolGradRecipe } from './fusion.js';

type Shape4 = [number, number, number, number];

/** The window geometry [filterH, filterW, strideH, strideW, padTop, padLeft] for the addon. */
function poolInfo(
  xShape: number[],
  attrs: {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: MaxPoolAttrs['pad'];
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  },
): { outShape: number[]; params: number[] } {
  const info = backend_util.computePool2DInfo(xShape as Shape4, attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  return {
    outShape: info.outShape,
    params: [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left],
  };
}

const cpuMaxPool = cpuKernel(MaxPool);
function maxPool(args: KernelArgs<{ x: TensorInfo }, MaxPoolAttrs>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs,
  } = args;
  if (!allFloat32(x)) return cpuMaxPool(args);
  const { outShape, params } = poolInfo(x.shape, attrs);
  return backend.output(outShape, (y) => backend.addon.maxPool(backend.f32(x), x.shape, y, outShape, params));
}

/** A pending recipe: the ReLU gradient that usually follows multiplies it in the same pass (fusion.ts). */
const cpuMaxPoolGrad = cpuKernel(MaxPoolGrad);
function maxPoolGrad(args: KernelArgs<{ dy: TensorInfo; input: TensorInfo; output: TensorInfo }, MaxPoolGradAttrs>): TensorInfo {
  const {
    inputs: { dy, input, output },
    backend,
    attrs,
  } = args;
  if (!allFloat32(dy, input, output)) return cpuMaxPoolGrad(args);
  const { params } = poolInfo(input.shape, attrs);
  const recipe: MaxPoolGradRecipe = { kind: 'maxPoolGrad', dy, input, output, params };
  return backend.lazyOutput(input.shape, [dy, input, output], (dx) => maxPoolGradInto(backend, recipe, dx, input.shape), recipe);
}

const cpuAvgPool = cpuKernel(AvgPool);
function avgPool(args: KernelArgs<{ x: TensorInfo }, AvgPoolAttrs>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs,
  } = args;
  if (!allFloat32(x)) return cpuAvgPool(args);
  const { outShape, params } = poolInfo(x.shape, attrs);
  return backend.output(outShape, (y) => backend.addon.avgPool(backend.f32(x), x.shape, y, outShape, params));
}

const cpuAvgPoolGrad = cpuKernel(AvgPoolGrad);
function avgPoolGrad(args: KernelArgs<{ dy: TensorInfo; input: TensorInfo }, AvgPoolGradAttrs>): TensorInfo {
  const {
    inputs: { dy, input },
    backend,
    attrs,
  } = args;
  if (!allFloat32(dy, input)) return cpuAvgPoolGrad(args);
  const { outShape, params } = poolInfo(input.shape, attrs);
  return backend.output(input.shape, (dx) => backend.addon.avgPoolGrad(backend.f32(dy), input.shape, outShape, params, dx));
}

export const maxPoolConfig: KernelConfig = {
  kernelName: MaxPool,
  backendName: NATIVE_BACKEND,
  kernelFunc: maxPool as unknown as KernelFunc,
};
export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: NATIVE_BACKEND,
  kernelFunc: maxPoolGrad as unknown as KernelFunc,
};
export const avgPoolConfig: KernelConfig = {
  kernelName: AvgPool,
  backendName: NATIVE_BACKEND,
  kernelFunc: avgPool as unknown as KernelFunc,
};
export const avgPoolGradConfig: KernelConfig = {
  kernelName: AvgPoolGrad,
  backendName: NATIVE_BACKEND,
  kernelFunc: avgPoolGrad as unknown as KernelFunc,
};
