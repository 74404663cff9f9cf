import {
  ArgMax,
  backend_util,
  Max,
  Mean,
  Min,
  Prod,
  Softmax,
  Sum,
  util,
  type ArgMaxAttrs,
  type KernelConfig,
  type KernelFunc,
  type SoftmaxAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { REDUCE } from '../addon.js';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs } from '../native-backend.js';

/**
 * x viewed as [outer, mid, inner] with mid the reduced axes, when those axes are adjacent
 * (every reduction the models and losses here make); undefined otherwise.
 */
function blockView(shape: number[], axes: number[]): { outer: number; mid: number; inner: number } | undefined {
  const sorted = [...axes].sort((p, q) => p - q);
  if (sorted.length === 0 || sorted.some((a, i) => i > 0 && a !== sorted[i - 1]! + 1)) return undefined;
  const first = sorted[0]!,
    last = sorted[sorted.length - 1]!;
  return {
    outer: util.sizeFromShape(shape.slice(0, first)),
    mid: util.sizeFromShape(shape.slice(first, last + 1)),
    inner: util.sizeFromShape(shape.slice(last + 1)),
  };
}

/** Attributes of Sum, Mean, Min, Prod (`axis`) and Max (`reductionIndices`). */
type ReduceAttrs = { axis?: number | number[]; reductionIndices?: number | number[]; keepDims: boolean };

/** Sum, Mean, Max, Min, Prod of float32 over adjacent axes. */
function reduceConfig(kernelName: string, op: number): KernelConfig {
  const cpu = cpuKernel(kernelName);
  const kernelFunc = (args: KernelArgs<{ x: TensorInfo }, ReduceAttrs>): TensorInfo => {
    const {
      inputs: { x },
      backend,
      attrs,
    } = args;
    const axes = util.parseAxisParam((attrs.axis ?? attrs.reductionIndices)!, x.shape);
    const view = blockView(x.shape, axes);
    if (!allFloat32(x) || view === undefined || util.sizeFromShape(x.shape) === 0) return cpu(args);
    let [outShape] = backend_util.computeOutAndReduceShapes(x.shape, axes);
    if (attrs.keepDims) outShape = backend_util.expandShapeToKeepDim(outShape, axes);
    return backend.output(outShape, (out) => backend.addon.reduce(op, backend.f32(x), view.outer, view.mid, view.inner, out));
  };
  return { kernelName, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as unknown as KernelFunc };
}

export const sumConfig = reduceConfig(Sum, REDUCE.sum);
export const meanConfig = reduceConfig(Mean, REDUCE.mean);
export const maxConfig = reduceConfig(Max, REDUCE.max);
export const minConfig = reduceConfig(Min, REDUCE.min);
export const prodConfig = reduceConfig(Prod, REDUCE.prod);

const cpuArgMax = cpuKernel(ArgMax);
function argMax(args: KernelArgs<{ x: TensorInfo }, ArgMaxAttrs>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs,
  } = args;
  const [axis] = util.parseAxisParam(attrs.axis, x.shape);
  if (!allFloat32(x) || axis === undefined || util.sizeFromShape(x.shape) === 0) return cpuArgMax(args);
  const view = blockView(x.shape, [axis])!;
  const outShape = x.shape.filter((_, i) => i !== axis);
  const out = new Int32Array(view.outer * view.inner);
  backend.addon.argMax(backend.f32(x), view.outer, view.mid, view.inner, out);
  return backend.makeTensorInfo(outShape, 'int32', out);
}
export const argMaxConfig: KernelConfig = { kernelName: ArgMax, backendName: NATIVE_BACKEND, kernelFunc: argMax as unknown as KernelFunc };

const cpuSoftmax = cpuKernel(Softmax);
function softmax(args: KernelArgs<{ logits: TensorInfo }, SoftmaxAttrs>): TensorInfo {
  const {
    inputs: { logits },
    backend,
    attrs,
  } = args;
  const rank = logits.shape.length;
  const [dim] = util.parseAxisParam(attrs.dim, logits.shape);
  if (!allFloat32(logits) || rank === 0 || dim !== rank - 1) return cpuSoftmax(args);
  const cols = logits.shape[rank - 1]!;
  const rows = util.sizeFromShape(logits.shape) / cols;
  return backend.output(logits.shape, (out) => backend.addon.softmax(backend.f32(logits), rows, cols, out));
}
export const softmaxConfig: KernelConfig = {
  kernelName: Softmax,
  backendName: NATIVE_BACKEND,
  kernelFunc: softmax as unknown as KernelFunc,
};
