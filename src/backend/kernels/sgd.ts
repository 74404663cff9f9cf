import { util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { SGD_STEP_KERNEL, type SgdStepAttrs } from '../../base/custom-kernels.js';
import { NATIVE_BACKEND, allFloat32, type KernelArgs } from '../native-backend.js';

/**
 * training/sgd.ts's update of one variable in one native pass instead of eight tfjs ops
 * (each a JS dispatch and a pass over the weights): returns [new weights, new momentum buffer].
 */
function sgdStep(args: KernelArgs<{ v: TensorInfo; g: TensorInfo; buf: TensorInfo }, SgdStepAttrs>): TensorInfo[] {
  const {
    inputs: { v, g, buf },
    backend,
    attrs,
  } = args;
  if (!allFloat32(v, g, buf) || !util.arraysEqual(v.shape, g.shape) || !util.arraysEqual(v.shape, buf.shape)) {
    throw new Error(`${SGD_STEP_KERNEL} takes float32 weights, gradient and buffer of one shape`);
  }
  const bufOut = backend.alloc(util.sizeFromShape(v.shape));
  const vOut = backend.output(v.shape, (out) =>
    backend.addon.sgdStep(
      backend.f32(v),
      backend.f32(g),
      backend.f32(buf),
      out,
      bufOut,
      attrs.lr,
      attrs.momentum,
      attrs.weightDecay,
      attrs.nesterov,
    ),
  );
  return [vOut, backend.makeTensorInfo(v.shape, 'float32', bufOut)];
}

export const sgdStepConfig: KernelConfig = {
  kernelName: SGD_STEP_KERNEL,
  backendName: NATIVE_BACKEND,
  kernelFunc: sgdStep as unknown as KernelFunc,
};
