import * as tfl from '@tensorflow/tfjs-layers';
import { batchNorm, conv, linear, relu, type TorchInit, type Tensor } from './layers.js';

/**
 * DenseNet-40 as in the authors' archs/densenet.py: conv3×3 with 2·growth = 24 channels;
 * three dense blocks of 6 bottleneck layers (BN-ReLU-conv1×1 to 4·growth, BN-ReLU-conv3×3 to
 * growth, concatenated to the input), growth 12; compression 1.0, so a transition keeps its
 * channels and is only a 2×2 average pool (the reference skips the BN-ReLU-conv when
 * in = out); final BN, ReLU, global average pool (AvgPool2d(8) on 8×8), fc 240→classes.
 * Convolutions: N(0, 2/(k²·out)) without bias; BN γ = 1, β = 0; fc: PyTorch default weight, zero bias.
 */
export function densenet40(x: Tensor, numClasses: number, init: TorchInit): Tensor {
  const growth = 12;
  const blocks = [6, 6, 6];
  let h = conv(x, { name: 'features.conv0', filters: 2 * growth, kernel: 3, padding: 1, init: 'he' }, init);
  blocks.forEach((layers, b) => {
    for (let i = 0; i < layers; i++) h = denseLayer(h, growth, `features.block${b + 1}.layer${i + 1}`, init);
    if (b < blocks.length - 1) {
      h = tfl.layers.averagePooling2d({ name: `features.trans${b + 1}.pool`, poolSize: 2, strides: 2 }).apply(h) as Tensor;
    }
  });
  h = relu(batchNorm(h, 'features.norm_last'), 'features.relu_last');
  h = tfl.layers.globalAveragePooling2d({ name: 'features.pool_last' }).apply(h) as Tensor;
  return linear(h, numClasses, 'classifier', init, true);
}

function denseLayer(x: Tensor, growth: number, name: string, init: TorchInit): Tensor {
  let h = relu(batchNorm(x, `${name}.brc_1.norm`), `${name}.brc_1.relu`);
  h = conv(h, { name: `${name}.brc_1.conv`, filters: 4 * growth, kernel: 1, init: 'he' }, init);
  h = relu(batchNorm(h, `${name}.brc_2.norm`), `${name}.brc_2.relu`);
  h = conv(h, { name: `${name}.brc_2.conv`, filters: growth, kernel: 3, padding: 1, init: 'he' }, init);
  return tfl.layers.concatenate({ name: `${name}.cat`, axis: -1 }).apply([x, h]) as Tensor;
}
