import {
  Abs,
  Add,
  AddN,
  backend_util,
  Elu,
  Exp,
  LeakyRelu,
  Log,
  Maximum,
  Minimum,
  Multiply,
  Neg,
  RealDiv,
  Reciprocal,
  Relu,
  Relu6,
  Rsqrt,
  Sigmoid,
  Sqrt,
  Square,
  SquaredDifference,
  Step,
  Sub,
  Tanh,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { BINARY, UNARY } from '../addon.js';
import { NATIVE_BACKEND, allFloat32, cpuKernel, type KernelArgs } from '../native-backend.js';
import { foldBias, foldResidual, multiplyByStep, pendingStep, reluOfPending } from './fusion.js';

/** A broadcasting binary kernel on float32 tensors. */
function binaryConfig(kernelName: string, op: number): KernelConfig {
  const cpu = cpuKernel(kernelName);
  const kernelFunc = (args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>): TensorInfo => {
    const {
      inputs: { a, b },
      backend,
    } = args;
    if (!allFloat32(a, b)) return cpu(args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    return backend.output(outShape, (out) => backend.addon.binary(op, backend.f32(a), a.shape, backend.f32(b), b.shape, out, outShape));
  };
  return { kernelName, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** An elementwise unary kernel on a float32 tensor; `alpha` reads the kernel's attribute, if any. */
function unaryConfig(kernelName: string, op: number, alpha: (attrs: NamedAttrMap) => number = () => 0): KernelConfig {
  const cpu = cpuKernel(kernelName);
  const kernelFunc = (args: KernelArgs<{ x: TensorInfo }>): TensorInfo => {
    const {
      inputs: { x },
      backend,
      attrs,
    } = args;
    if (!allFloat32(x)) return cpu(args);
    return backend.output(x.shape, (y) => backend.addon.unary(op, backend.f32(x), y, alpha(attrs)));
  };
  return { kernelName, backendName: NATIVE_BACKEND, kernelFunc: kernelFunc as unknown as KernelFunc };
}

/**
 * Add of a per-channel bias to a pending convolution, or of a residual to a pending batch norm:
 * folded into the pending computation (fusion.ts).
 */
const addGeneric = binaryConfig(Add, BINARY.add).kernelFunc as unknown as (
  args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>,
) => TensorInfo;
function add(args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>): TensorInfo {
  const {
    inputs: { a, b },
    backend,
  } = args;
  return (
    foldBias(backend, a, b) ?? foldBias(backend, b, a) ?? foldResidual(backend, a, b) ?? foldResidual(backend, b, a) ?? addGeneric(args)
  );
}
export const addConfig: KernelConfig = { kernelName: Add, backendName: NATIVE_BACKEND, kernelFunc: add as unknown as KernelFunc };
export const subConfig = binaryConfig(Sub, BINARY.sub);

/** Multiply by a pending ReLU-gradient mask: one fused pass (fusion.ts). */
const multiplyGeneric = binaryConfig(Multiply, BINARY.mul).kernelFunc as unknown as (
  args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>,
) => TensorInfo;
function multiply(args: KernelArgs<{ a: TensorInfo; b: TensorInfo }>): TensorInfo {
  const {
    inputs: { a, b },
    backend,
  } = args;
  return multiplyByStep(backend, a, b) ?? multiplyGeneric(args);
}
export const multiplyConfig: KernelConfig = {
  kernelName: Multiply,
  backendName: NATIVE_BACKEND,
  kernelFunc: multiply as unknown as KernelFunc,
};

/** Lazy, so that a Multiply can fuse it (fusion.ts). */
const cpuStep = cpuKernel(Step);
function step(args: KernelArgs<{ x: TensorInfo }, { alpha?: number }>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs,
  } = args;
  if (!allFloat32(x)) return cpuStep(args);
  return pendingStep(backend, x, attrs.alpha ?? 0);
}
export const stepConfig: KernelConfig = { kernelName: Step, backendName: NATIVE_BACKEND, kernelFunc: step as unknown as KernelFunc };
export const realDivConfig = binaryConfig(RealDiv, BINARY.div);
export const maximumConfig = binaryConfig(Maximum, BINARY.max);
export const minimumConfig = binaryConfig(Minimum, BINARY.min);
export const squaredDifferenceConfig = binaryConfig(SquaredDifference, BINARY.sqdiff);

/** ReLU of a pending convolution or batch norm: computed with it in one pass (fusion.ts). */
const reluGeneric = unaryConfig(Relu, UNARY.relu).kernelFunc as unknown as (args: KernelArgs<{ x: TensorInfo }>) => TensorInfo;
function relu(args: KernelArgs<{ x: TensorInfo }>): TensorInfo {
  const {
    inputs: { x },
    backend,
  } = args;
  return reluOfPending(backend, x) ?? reluGeneric(args);
}
export const reluConfig: KernelConfig = { kernelName: Relu, backendName: NATIVE_BACKEND, kernelFunc: relu as unknown as KernelFunc };
export const relu6Config = unaryConfig(Relu6, UNARY.relu6);
export const expConfig = unaryConfig(Exp, UNARY.exp);
export const logConfig = unaryConfig(Log, UNARY.log);
export const negConfig = unaryConfig(Neg, UNARY.neg);
export const sqrtConfig = unaryConfig(Sqrt, UNARY.sqrt);
export const rsqrtConfig = unaryConfig(Rsqrt, UNARY.rsqrt);
export const squareConfig = unaryConfig(Square, UNARY.square);
export const absConfig = unaryConfig(Abs, UNARY.abs);
export const sigmoidConfig = unaryConfig(Sigmoid, UNARY.sigmoid);
export const tanhConfig = unaryConfig(Tanh, UNARY.tanh);
export const reciprocalConfig = unaryConfig(Reciprocal, UNARY.reciprocal);
export const leakyReluConfig = unaryConfig(LeakyRelu, UNARY.leakyrelu, (attrs) => attrs.alpha as number);
export const eluConfig = unaryConfig(Elu, UNARY.elu);

const cpuAddN = cpuKernel(AddN);
function addN(args: KernelArgs<TensorInfo[]>): TensorInfo {
  const { inputs, backend } = args;
  const tensors = Array.from(inputs);
  if (!allFloat32(...tensors) || tensors.some((t) => !tensors[0] || !arraysEqual(t.shape, tensors[0].shape))) return cpuAddN(args);
  return backend.output(tensors[0]!.shape, (out) =>
    backend.addon.addN(
      tensors.map((t) => backend.f32(t)),
      out,
    ),
  );
}
export const addNConfig: KernelConfig = { kernelName: AddN, backendName: NATIVE_BACKEND, kernelFunc: addN as unknown as KernelFunc };

function arraysEqual(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
