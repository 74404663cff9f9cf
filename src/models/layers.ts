import * as tfl from '@tensorflow/tfjs-layers';
import { philox4x32 } from '../noise/philox.js';
import { BatchNorm } from './batch-norm.js';

/**
 * Building blocks shared by the architectures, written so that each tfjs layer matches the
 * PyTorch module of the reference code: same padding placement, batch-norm constants and
 * initializations. Layer names are the PyTorch state-dict paths (e.g. `layer2.0.conv1`), so a
 * reference checkpoint maps onto the model name by name.
 */
export type Tensor = tfl.SymbolicTensor;
type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** Tag in the Philox counter that separates weight-init seeds from every noise stream. */
const INIT_TAG = 0x696e6974;

/**
 * Initializers reproducing PyTorch's, each layer drawing from its own seed derived from
 * (seed, layer counter) with Philox, so one run seed gives the same weights on every engine
 * run. Without a seed tfjs draws from Math.random.
 */
export class TorchInit {
  private counter = 0;
  private readonly words = new Uint32Array(4);

  constructor(private readonly seed?: number) {}

  private nextSeed(): number | undefined {
    if (this.seed === undefined) return undefined;
    philox4x32(this.counter++, 0, 0, INIT_TAG, this.seed % 4294967296, Math.floor(this.seed / 4294967296), this.words);
    return this.words[0]!;
  }

  /**
   * N(0, 2 / (k·k·out)): He normal with fan-out, untruncated — Cohen's CIFAR ResNet and
   * DenseNet (`normal_(0, sqrt(2 / n))`) and torchvision's `kaiming_normal_(mode='fan_out')`.
   */
  heNormal(kernel: number, filters: number): Initializer {
    const seed = this.nextSeed();
    return tfl.initializers.randomNormal({
      mean: 0,
      stddev: Math.sqrt(2 / (kernel * kernel * filters)),
      ...(seed === undefined ? {} : { seed }),
    });
  }

  /** U(−1/√fanIn, 1/√fanIn): PyTorch's default for Conv2d/Linear weights and biases. */
  torchUniform(fanIn: number): Initializer {
    const bound = 1 / Math.sqrt(fanIn);
    const seed = this.nextSeed();
    return tfl.initializers.randomUniform({ minval: -bound, maxval: bound, ...(seed === undefined ? {} : { seed }) });
  }
}

export interface ConvSpec {
  name: string;
  filters: number;
  kernel: number;
  stride?: number;
  /** PyTorch's symmetric zero padding. */
  padding?: number;
  /** Weight init: 'he' (He normal, fan-out, no bias) or 'torch' (PyTorch default, with bias). */
  init: 'he' | 'torch';
  /** 'relu' fuses the activation into the convolution (one kernel at inference on the native backend). */
  activation?: 'relu';
}

/**
 * A PyTorch-style Conv2d. tfjs 'same' puts the odd pixel of padding at the bottom/right while
 * PyTorch pads both sides, so strided convolutions get an explicit ZeroPadding2D + 'valid'
 * (otherwise every stride-2 layer would sample a grid shifted by one pixel).
 */
export function conv(x: Tensor, spec: ConvSpec, init: TorchInit): Tensor {
  const stride = spec.stride ?? 1;
  const padding = spec.padding ?? 0;
  const inChannels = x.shape[3]!;
  const fanIn = inChannels * spec.kernel * spec.kernel;
  const sameAsTorch = stride === 1 && 2 * padding === spec.kernel - 1;
  let input = x;
  if (padding > 0 && !sameAsTorch) {
    input = tfl.layers.zeroPadding2d({ padding, name: `${spec.name}.pad` }).apply(x) as Tensor;
  }
  const layer = tfl.layers.conv2d({
    name: spec.name,
    filters: spec.filters,
    kernelSize: spec.kernel,
    strides: stride,
    padding: sameAsTorch && padding > 0 ? 'same' : 'valid',
    useBias: spec.init === 'torch',
    kernelInitializer: spec.init === 'he' ? init.heNormal(spec.kernel, spec.filters) : init.torchUniform(fanIn),
    ...(spec.init === 'torch' ? { biasInitializer: init.torchUniform(fanIn) } : {}),
    ...(spec.activation ? { activation: spec.activation } : {}),
  });
  return layer.apply(input) as Tensor;
}

/**
 * BatchNorm2d with PyTorch's constants: eps 1e-5 and running-average momentum 0.1 (tfjs keeps
 * `momentum` of the old value, hence 0.9). γ = 1, β = 0 as in the reference inits. Unlike
 * PyTorch, the running variance averages the biased batch variance, as tfjs-layers does.
 * BatchNorm is tfjs-layers' layer with a fused training path (batch-norm.ts).
 */
export function batchNorm(x: Tensor, name: string): Tensor {
  return new BatchNorm({ name, axis: -1, momentum: 0.9, epsilon: 1e-5 }).apply(x) as Tensor;
}

export function relu(x: Tensor, name: string): Tensor {
  return tfl.layers.reLU({ name }).apply(x) as Tensor;
}

/** nn.Linear with PyTorch's default init; `zeroBias` for the DenseNet classifier, which zeroes it. */
export function linear(x: Tensor, units: number, name: string, init: TorchInit, zeroBias = false, activation?: 'relu'): Tensor {
  const fanIn = x.shape[x.shape.length - 1]!;
  return tfl.layers
    .dense({
      name,
      units,
      ...(activation ? { activation } : {}),
      kernelInitializer: init.torchUniform(fanIn),
      biasInitializer: zeroBias ? 'zeros' : init.torchUniform(fanIn),
    })
    .apply(x) as Tensor;
}

export function add(xs: Tensor[], name: string): Tensor {
  return tfl.layers.add({ name }).apply(xs) as Tensor;
}
