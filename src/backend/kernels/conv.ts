import {
  backend_util,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  type Conv2DAttrs,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropInputAttrs,
  type FusedConv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { ACTIVATION } from '../addon.js';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs, type NativeBackend } from '../native-backend.js';
import { fusedActivation, fusedBias, perChannel } from './fused-attrs.js';
import { pendingConv, unpadded, type ConvRecipe } from './fusion.js';

type Conv2DIn = { x: TensorInfo; filter: TensorInfo };

/** [strideH, strideW, dilationH, dilationW, padTop, padBottom, padLeft, padRight] for the addon. */
function convParams(info: backend_util.Conv2DInfo): number[] {
  const p = info.padInfo;
  return [info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, p.top, p.bottom, p.left, p.right];
}

/** The recipe field of a forward convolution run while the backend's precision is bf16. */
function bf16(backend: NativeBackend): { bf16?: true } {
  return backend.precision === 'bf16' ? { bf16: true } : {};
}

/**
 * Whether oneDNN accepts the geometry: its output size must follow from input, padding, filter
 * and stride. tfjs sizes numeric padding with the filter height and stride height in both
 * dimensions, so such layers can disagree; the CPU kernels then keep tfjs's semantics.
 */
function consistent(info: backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  const size = (inSize: number, before: number, after: number, filter: number, dilation: number, stride: number) =>
    Math.floor((inSize + before + after - ((filter - 1) * dilation + 1)) / stride) + 1;
  return (
    Math.min(p.top, p.bottom, p.left, p.right) >= 0 &&
    size(info.inHeight, p.top, p.bottom, info.filterHeight, info.dilationHeight, info.strideHeight) === info.outHeight &&
    size(info.inWidth, p.left, p.right, info.filterWidth, info.dilationWidth, info.strideWidth) === info.outWidth
  );
}

/**
 * Under a gradient tape tfjs splits a fused conv into Conv2D, Add(bias) and Relu, each a pass
 * over the activations. The Conv2D output is therefore a pending recipe (fusion.ts) that a
 * following Add and Relu fuse into, so only tensors that something reads are ever written.
 */
const cpuConv2D = cpuKernel(Conv2D);
function conv2D(args: KernelArgs<Conv2DIn, Conv2DAttrs>): TensorInfo {
  const {
    inputs: { x, filter },
    backend,
    attrs,
  } = args;
  if (attrs.dataFormat === 'NCHW' || !allFloat32(x, filter)) return cpuConv2D(args);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (!consistent(info)) return cpuConv2D(args);
  const recipe: ConvRecipe = { kind: 'conv', ...unpadded(backend, x, convParams(info)), filter, ...bf16(backend) };
  return pendingConv(backend, recipe, info.outShape);
}

const cpuFusedConv2D = cpuKernel(FusedConv2D);
function fusedConv2D(
  args: KernelArgs<Conv2DIn & { bias?: TensorInfo; preluActivationWeights?: TensorInfo }, FusedConv2DAttrs>,
): TensorInfo {
  const {
    inputs: { x, filter, bias },
    backend,
    attrs,
  } = args;
  if (attrs.dataFormat === 'NCHW' || !allFloat32(x, filter, bias)) return cpuFusedConv2D(args);
  const act = fusedActivation(attrs.activation);
  const b = bias === undefined ? null : fusedBias(backend, bias, filter.shape[3]!);
  if (act === undefined || b === undefined) return cpuFusedConv2D(args);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (!consistent(info)) return cpuFusedConv2D(args);
  // Without an activation the output stays pending, so that an inference batch norm, a residual
  // Add and a Relu after it fold into this one convolution (fusion.ts).
  if (act === ACTIVATION.linear && (bias === undefined || perChannel(bias, filter.shape[3]!))) {
    return pendingConv(
      backend,
      { kind: 'conv', ...unpadded(backend, x, convParams(info)), filter, ...(bias ? { bias } : {}), ...bf16(backend) },
      info.outShape,
    );
  }
  const src = unpadded(backend, x, convParams(info));
  return backend.output(info.outShape, (y) =>
    backend.addon.conv2d(
      backend.operand(src.x, backend.precision),
      src.x.shape,
      backend.f32(filter),
      filter.shape,
      y,
      info.outShape,
      src.params,
      b,
      act,
      attrs.leakyreluAlpha ?? 0.2,
      null,
      backend.precision === 'bf16',
    ),
  );
}

const cpuBackpropInput = cpuKernel(Conv2DBackpropInput);
function conv2DBackpropInput(args: KernelArgs<{ dy: TensorInfo; filter: TensorInfo }, Conv2DBackpropInputAttrs>): TensorInfo {
  const {
    inputs: { dy, filter },
    backend,
    attrs,
  } = args;
  if (attrs.dataFormat === 'NCHW' || !allFloat32(dy, filter)) return cpuBackpropInput(args);
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (!consistent(info)) return cpuBackpropInput(args);
  // The precision of the call, not of the moment the lazy values are first read.
  const precision = backend.precision;
  return backend.lazyOutput(info.inShape, [dy, filter], (dx) =>
    backend.addon.conv2dBackpropInput(
      backend.operand(dy, precision),
      dy.shape,
      backend.f32(filter),
      filter.shape,
      dx,
      info.inShape,
      convParams(info),
      precision === 'bf16',
    ),
  );
}

const cpuBackpropFilter = cpuKernel(Conv2DBackpropFilter);
function conv2DBackpropFilter(args: KernelArgs<{ x: TensorInfo; dy: TensorInfo }, Conv2DBackpropFilterAttrs>): TensorInfo {
  const {
    inputs: { x, dy },
    backend,
    attrs,
  } = args;
  if (attrs.dataFormat === 'NCHW' || !allFloat32(x, dy)) return cpuBackpropFilter(args);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (!consistent(info)) return cpuBackpropFilter(args);
  return backend.output(attrs.filterShape, (dw) =>
    backend.addon.conv2dBackpropFilter(
      backend.operand(x, backend.precision),
      x.shape,
      backend.operand(dy, backend.precision),
      dy.shape,
      dw,
      attrs.filterShape,
      convParams(info),
      backend.precision === 'bf16',
    ),
  );
}

export const conv2DConfig: KernelConfig = { kernelName: Conv2D, backendName: NATIVE_BACKEND, kernelFunc: conv2D as unknown as KernelFunc };
export const fusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: NATIVE_BACKEND,
  kernelFunc: fusedConv2D as unknown as KernelFunc,
};
export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: NATIVE_BACKEND,
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: NATIVE_BACKEND,
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
