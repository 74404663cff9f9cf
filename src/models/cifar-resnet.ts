import * as tfl from '@tensorflow/tfjs-layers';
import { add, batchNorm, conv, linear, relu, type TorchInit, type Tensor } from './layers.js';

/**
 * He et al.'s CIFAR ResNet of depth 6n + 2 as in Cohen et al.'s archs/cifar_resnet.py
 * (from bearpaw/pytorch-classification): conv3×3 16, BN, ReLU; three stages of n basic blocks
 * with 16, 32, 64 channels (stride 2 at the start of stages 2 and 3); global average pool
 * (AvgPool2d(8) on the 8×8 map); fc 64→classes. Shortcuts are identity, except where the
 * shape changes: a 1×1 strided conv + BN ("option B"), as in the reference.
 * Convolutions: N(0, 2/(k²·out)) without bias; BN γ = 1, β = 0; fc: PyTorch default.
 */
export function cifarResNet(x: Tensor, depth: number, numClasses: number, init: TorchInit): Tensor {
  if ((depth - 2) % 6 !== 0) throw new Error(`CIFAR ResNet depth must be 6n + 2, got ${depth}`);
  const n = (depth - 2) / 6;
  let h = conv(x, { name: 'conv1', filters: 16, kernel: 3, padding: 1, init: 'he' }, init);
  h = relu(batchNorm(h, 'bn1'), 'relu');
  [16, 32, 64].forEach((planes, stage) => {
    for (let i = 0; i < n; i++) {
      h = basicBlock(h, planes, i === 0 && stage > 0 ? 2 : 1, `layer${stage + 1}.${i}`, init);
    }
  });
  h = tfl.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(h) as Tensor;
  return linear(h, numClasses, 'fc', init);
}

function basicBlock(x: Tensor, planes: number, stride: number, name: string, init: TorchInit): Tensor {
  let out = conv(x, { name: `${name}.conv1`, filters: planes, kernel: 3, stride, padding: 1, init: 'he' }, init);
  out = relu(batchNorm(out, `${name}.bn1`), `${name}.relu1`);
  out = conv(out, { name: `${name}.conv2`, filters: planes, kernel: 3, padding: 1, init: 'he' }, init);
  out = batchNorm(out, `${name}.bn2`);
  let residual = x;
  if (stride !== 1 || x.shape[3] !== planes) {
    residual = conv(x, { name: `${name}.downsample.0`, filters: planes, kernel: 1, stride, init: 'he' }, init);
    residual = batchNorm(residual, `${name}.downsample.1`);
  }
  return relu(add([out, residual], `${name}.add`), `${name}.relu2`);
}
