import * as tfl from '@tensorflow/tfjs-layers';
import { conv, linear, type TorchInit, type Tensor } from './layers.js';

/**
 * LeNet as in the authors' archs/lenet.py (the MNIST base classifier): conv 20@5×5, ReLU,
 * max-pool 2; conv 50@5×5, ReLU, max-pool 2; fc 800→500, ReLU; fc 500→classes. PyTorch's
 * default initialization throughout. Flatten runs over NHWC here (PyTorch: NCHW), which
 * permutes fc1's input rows but leaves the function class and parameter count unchanged.
 * ReLUs are fused into their layers so inference runs one kernel per layer.
 */
export function lenet(x: Tensor, numClasses: number, init: TorchInit): Tensor {
  let h = conv(x, { name: 'conv1', filters: 20, kernel: 5, init: 'torch', activation: 'relu' }, init);
  h = tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }).apply(h) as Tensor;
  h = conv(h, { name: 'conv2', filters: 50, kernel: 5, init: 'torch', activation: 'relu' }, init);
  h = tfl.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }).apply(h) as Tensor;
  h = tfl.layers.flatten({ name: 'flatten' }).apply(h) as Tensor;
  h = linear(h, 500, 'fc1', init, false, 'relu');
  return linear(h, numClasses, 'fc2', init);
}
