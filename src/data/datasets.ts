/**
 * What each dataset is: image shape, classes, the model's normalization, the training
 * augmentation, and the paper's default schedule and architecture for it. The one home of
 * per-dataset facts; no Node import, so the browser build can use it. Where the files live
 * and how they are read is registry.ts.
 */
import { UserError } from '../base/errors.js';
import type { ArchName } from '../models/registry.js';
import type { Normalization } from '../models/meta.js';
import type { ImageShape } from '../base/shapes.js';

export type DatasetName = 'fashion-mnist' | 'mnist' | 'cifar10' | 'imagenet';

/** The training augmentation the authors' code applies (none for MNIST-like sets). */
export type TrainAugmentation = 'none' | 'crop-flip' | 'random-resized-crop';

/** A learning-rate schedule of the paper's Supplementary A.1 (SGD, step decay at the milestones). */
export interface Schedule {
  lr: number;
  epochs: number;
  lrMilestones: number[];
  batchSize: number;
}

export interface DatasetInfo {
  shape: ImageShape;
  numClasses: number;
  /** Constants of the model's normalization layer (paper, Supplementary A.2). */
  normalization: Normalization;
  classNames?: string[];
  trainAugmentation: TrainAugmentation;
  /** The paper's training schedule for this dataset (Supplementary A.1). */
  schedule: Schedule;
  /** The architecture the paper trains on it. */
  defaultArch: ArchName;
  /** Test images evaluated under noise after each epoch by default (ImageNet's are held decoded, so fewer). */
  evalSize: number;
}

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const MNIST_LIKE = {
  shape: [28, 28, 1] as ImageShape,
  numClasses: 10,
  // The authors' code feeds MNIST to the network unnormalized.
  normalization: { mean: [0], std: [1] },
  trainAugmentation: 'none' as const,
  schedule: { lr: 0.01, epochs: 90, lrMilestones: [30, 60], batchSize: 256 },
  defaultArch: 'lenet' as const,
  evalSize: 10_000,
};

export const DATASETS: Record<DatasetName, DatasetInfo> = {
  'fashion-mnist': {
    ...MNIST_LIKE,
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  },
  mnist: { ...MNIST_LIKE, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  cifar10: {
    shape: [32, 32, 3],
    numClasses: 10,
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
    classNames: CIFAR10_CLASSES,
    trainAugmentation: 'crop-flip',
    schedule: { lr: 0.1, epochs: 150, lrMilestones: [50, 100], batchSize: 256 },
    defaultArch: 'cifar_resnet110',
    evalSize: 10_000,
  },
  imagenet: {
    shape: [224, 224, 3],
    numClasses: 1000,
    normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    trainAugmentation: 'random-resized-crop',
    schedule: { lr: 0.1, epochs: 90, lrMilestones: [30, 60], batchSize: 200 },
    defaultArch: 'resnet50',
    evalSize: 500,
  },
};

export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

export function isDatasetName(name: string): name is DatasetName {
  return Object.hasOwn(DATASETS, name);
}

/** The facts of dataset `name`; a UserError listing the valid names if unknown. */
export function datasetInfo(name: string): DatasetInfo {
  if (!isDatasetName(name)) {
    throw new UserError(`unknown dataset "${name}"; valid names: ${DATASET_NAMES.join(', ')}`);
  }
  return DATASETS[name];
}
