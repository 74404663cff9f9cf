import * as tfl from '@tensorflow/tfjs-layers';
import { add, batchNorm, conv, linear, relu, type TorchInit, type Tensor } from './layers.js';

/**
 * torchvision's ImageNet ResNet-50 (v1.5: the stride sits on the 3×3 conv of a bottleneck):
 * conv7×7/2 64, BN, ReLU, max-pool 3×3/2; bottleneck stages [3, 4, 6, 3] with widths
 * 64, 128, 256, 512 (×4 out); global average pool; fc 2048→classes. Shortcuts: identity, or a
 * 1×1 strided conv + BN when the shape changes. Convolutions: kaiming_normal_(fan_out, relu);
 * BN γ = 1, β = 0 (no zero-init of the last BN, torchvision's default); fc: PyTorch default.
 */
export function resnet50(x: Tensor, numClasses: number, init: TorchInit): Tensor {
  let h = conv(x, { name: 'conv1', filters: 64, kernel: 7, stride: 2, padding: 3, init: 'he' }, init);
  h = relu(batchNorm(h, 'bn1'), 'relu');
  // PyTorch pads the max-pool with −∞; after a ReLU every value is ≥ 0, so zeros are equivalent.
  h = tfl.layers.zeroPadding2d({ name: 'maxpool.pad', padding: 1 }).apply(h) as Tensor;
  h = tfl.layers.maxPooling2d({ name: 'maxpool', poolSize: 3, strides: 2 }).apply(h) as Tensor;
  const stages: Array<[number, number]> = [
    [64, 3],
    [128, 4],
    [256, 6],
    [512, 3],
  ];
  stages.forEach(([planes, blocks], s) => {
    for (let i = 0; i < blocks; i++) h = bottleneck(h, planes, i === 0 && s > 0 ? 2 : 1, `layer${s + 1}.${i}`, init);
  });
  h = tfl.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(h) as Tensor;
  return linear(h, numClasses, 'fc', init);
}

function bottleneck(x: Tensor, planes: number, stride: number, name: string, init: TorchInit): Tensor {
  const outPlanes = 4 * planes;
  let out = conv(x, { name: `${name}.conv1`, filters: planes, kernel: 1, init: 'he' }, init);
  out = relu(batchNorm(out, `${name}.bn1`), `${name}.relu1`);
  out = conv(out, { name: `${name}.conv2`, filters: planes, kernel: 3, stride, padding: 1, init: 'he' }, init);
  out = relu(batchNorm(out, `${name}.bn2`), `${name}.relu2`);
  out = conv(out, { name: `${name}.conv3`, filters: outPlanes, kernel: 1, init: 'he' }, init);
  out = batchNorm(out, `${name}.bn3`);
  let residual = x;
  if (stride !== 1 || x.shape[3] !== outPlanes) {
    residual = conv(x, { name: `${name}.downsample.0`, filters: outPlanes, kernel: 1, stride, init: 'he' }, init);
    residual = batchNorm(residual, `${name}.downsample.1`);
  }
  return relu(add([out, residual], `${name}.add`), `${name}.relu3`);
}
