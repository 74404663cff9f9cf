import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../base/errors.js';
import type { ImageShape } from '../base/shapes.js';
import type { Normalization } from './meta.js';
import { Normalize } from './normalize.js';
import { TorchInit, type Tensor } from './layers.js';
import { lenet } from './lenet.js';
import { cifarResNet } from './cifar-resnet.js';
import { densenet40 } from './densenet.js';
import { resnet50 } from './resnet50.js';

export interface ArchBuildOptions {
  numClasses: number;
  inputShape: ImageShape;
  normalization: Normalization;
  /** Seed of the weight initialization; omitted: tfjs draws from Math.random. */
  seed?: number;
}

export interface Architecture {
  readonly description: string;
  /** The inputs it accepts, in words (for error messages). */
  readonly expects: string;
  fits(shape: ImageShape): boolean;
  /** The network with random weights: [0, 1] NHWC input, Normalize first, logits out. */
  build(opts: ArchBuildOptions): tfl.LayersModel;
}

/** The dataset facts a model is built from (data/datasets' DatasetInfo fits; the name only labels errors). */
export interface ModelDatasetInfo {
  name?: string;
  shape: ImageShape;
  numClasses: number;
  normalization: Normalization;
}

type Body = (x: Tensor, numClasses: number, init: TorchInit) => Tensor;

function architecture(name: string, description: string, expects: string, fits: (s: ImageShape) => boolean, body: Body): Architecture {
  return {
    description,
    expects,
    fits,
    build({ numClasses, inputShape, normalization, seed }) {
      const input = tfl.input({ shape: inputShape, name: 'input' });
      const x = new Normalize({ ...normalization, name: 'normalize' }).apply(input) as Tensor;
      const logits = body(x, numClasses, new TorchInit(seed));
      return tfl.model({ inputs: input, outputs: logits, name });
    },
  };
}

const is = (h: number, w: number, c: number) => (s: ImageShape) => s[0] === h && s[1] === w && s[2] === c;

export const ARCHITECTURES = {
  lenet: architecture(
    'lenet',
    'LeNet for MNIST-like digits (Cohen et al., Jeong & Shin)',
    '28×28×1 images (MNIST-like)',
    is(28, 28, 1),
    lenet,
  ),
  cifar_resnet20: architecture(
    'cifar_resnet20',
    'ResNet-20 for CIFAR (He et al.), 0.27M parameters',
    '32×32×3 images (CIFAR-10)',
    is(32, 32, 3),
    (x, k, init) => cifarResNet(x, 20, k, init),
  ),
  cifar_resnet110: architecture(
    'cifar_resnet110',
    'ResNet-110 for CIFAR (He et al.), 1.7M parameters',
    '32×32×3 images (CIFAR-10)',
    is(32, 32, 3),
    (x, k, init) => cifarResNet(x, 110, k, init),
  ),
  cifar_densenet40: architecture(
    'cifar_densenet40',
    'DenseNet-40 (growth 12, bottleneck) for CIFAR',
    '32×32×3 images (CIFAR-10)',
    is(32, 32, 3),
    densenet40,
  ),
  // torchvision's adaptive average pool accepts any size that survives the 32× downsampling.
  resnet50: architecture(
    'resnet50',
    'torchvision ResNet-50 for ImageNet, 25.6M parameters',
    '3-channel images of at least 32×32 (ImageNet: 224×224)',
    (s) => s[2] === 3 && s[0] >= 32 && s[1] >= 32,
    resnet50,
  ),
} as const satisfies Record<string, Architecture>;

export type ArchName = keyof typeof ARCHITECTURES;

export function isArchName(name: string): name is ArchName {
  return Object.hasOwn(ARCHITECTURES, name);
}

/** The architecture `arch` if it takes images of `shape`; a UserError naming the ones that do otherwise. */
export function architectureFor(arch: string, shape: ImageShape, datasetName?: string): Architecture {
  const names = Object.keys(ARCHITECTURES);
  if (!isArchName(arch)) {
    throw new UserError(`unknown architecture "${arch}"; choose one of: ${names.join(', ')}`);
  }
  const spec: Architecture = ARCHITECTURES[arch];
  if (!spec.fits(shape)) {
    const data = datasetName === undefined ? 'the dataset' : `dataset "${datasetName}"`;
    const fitting = names.filter((n) => ARCHITECTURES[n as ArchName].fits(shape));
    throw new UserError(
      `architecture "${arch}" expects ${spec.expects}, but ${data} has ${shape.join('×')} images; ` +
        (fitting.length > 0 ? `for this dataset choose one of: ${fitting.join(', ')}` : 'no built-in architecture fits it'),
    );
  }
  return spec;
}

/**
 * Builds `arch` for a dataset, with random weights. Throws UserError for an unknown
 * architecture, one that does not fit the dataset's images, or inconsistent normalization.
 */
export function buildModel(arch: string, dataset: ModelDatasetInfo, seed?: number): tfl.LayersModel {
  const spec = architectureFor(arch, dataset.shape, dataset.name);
  const shape = dataset.shape;
  const data = dataset.name === undefined ? 'the dataset' : `dataset "${dataset.name}"`;
  const { mean, std } = dataset.normalization;
  if (mean.length !== shape[2] || std.length !== shape[2] || std.some((s) => !(s > 0))) {
    throw new UserError(
      `${data} has ${shape[2]} channel(s) but normalization mean [${mean.join(', ')}], std [${std.join(', ')}]; ` +
        'give one mean and one positive std per channel',
    );
  }
  if (!Number.isInteger(dataset.numClasses) || dataset.numClasses < 2) {
    throw new UserError(`${data} must have at least 2 classes, got ${dataset.numClasses}`);
  }
  return spec.build({
    numClasses: dataset.numClasses,
    inputShape: shape,
    normalization: dataset.normalization,
    ...(seed === undefined ? {} : { seed }),
  });
}
