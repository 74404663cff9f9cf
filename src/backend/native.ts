import '@tensorflow/tfjs-backend-cpu';
import {
  getKernel,
  getKernelsForBackend,
  registerBackend,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { loadAddon } from './addon.js';
import { NATIVE_BACKEND, NativeBackend } from './native-backend.js';
import * as batchnorm from './kernels/batchnorm.js';
import * as conv from './kernels/conv.js';
import * as copy from './kernels/copy.js';
import * as elementwise from './kernels/elementwise.js';
import * as matmul from './kernels/matmul.js';
import * as pool from './kernels/pool.js';
import * as reduce from './kernels/reduce.js';
import * as sgd from './kernels/sgd.js';

/** The kernels the addon runs; every other kernel is the CPU backend's. */
export const NATIVE_KERNELS: KernelConfig[] = [
  conv.conv2DConfig,
  conv.fusedConv2DConfig,
  conv.conv2DBackpropInputConfig,
  conv.conv2DBackpropFilterConfig,
  matmul.batchMatMulConfig,
  matmul.fusedMatMulConfig,
  pool.maxPoolConfig,
  pool.maxPoolGradConfig,
  pool.avgPoolConfig,
  pool.avgPoolGradConfig,
  batchnorm.fusedBatchNormConfig,
  batchnorm.batchNormTrainConfig,
  batchnorm.batchNormTrainGradConfig,
  elementwise.addConfig,
  elementwise.subConfig,
  elementwise.multiplyConfig,
  elementwise.realDivConfig,
  elementwise.maximumConfig,
  elementwise.minimumConfig,
  elementwise.squaredDifferenceConfig,
  elementwise.reluConfig,
  elementwise.relu6Config,
  elementwise.stepConfig,
  elementwise.expConfig,
  elementwise.logConfig,
  elementwise.negConfig,
  elementwise.sqrtConfig,
  elementwise.rsqrtConfig,
  elementwise.squareConfig,
  elementwise.absConfig,
  elementwise.sigmoidConfig,
  elementwise.tanhConfig,
  elementwise.reciprocalConfig,
  elementwise.leakyReluConfig,
  elementwise.eluConfig,
  elementwise.addNConfig,
  copy.sliceConfig,
  copy.concatConfig,
  copy.splitVConfig,
  copy.padV2Config,
  copy.tileConfig,
  reduce.sumConfig,
  reduce.meanConfig,
  reduce.maxConfig,
  reduce.minConfig,
  reduce.prodConfig,
  reduce.argMaxConfig,
  reduce.softmaxConfig,
  sgd.sgdStepConfig,
];

/** Above the CPU (1) and wasm (2) backends: tfjs picks the native backend when it loads. */
const NATIVE_PRIORITY = 3;

let registration: string | undefined | null = null;

/**
 * Registers the native backend with tfjs under NATIVE_BACKEND: the CPU backend's kernels,
 * re-keyed, with the native ones in their place. Returns why the addon could not be loaded,
 * or undefined when the backend is registered.
 */
export function registerNativeBackend(): string | undefined {
  if (registration !== null) return registration;
  const load = loadAddon();
  if (load.error !== undefined) {
    registration = load.error;
    return registration;
  }
  for (const config of getKernelsForBackend('cpu')) registerKernel({ ...config, backendName: NATIVE_BACKEND });
  for (const config of NATIVE_KERNELS) {
    if (getKernel(config.kernelName, NATIVE_BACKEND)) unregisterKernel(config.kernelName, NATIVE_BACKEND);
    registerKernel(config);
  }
  registerBackend(NATIVE_BACKEND, () => new NativeBackend(load.addon), NATIVE_PRIORITY);
  registration = undefined;
  return registration;
}
