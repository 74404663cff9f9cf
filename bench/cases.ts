import type * as tfl from '@tensorflow/tfjs-layers';
import { DATASETS } from '../src/data/datasets.js';
import { architectureFor } from '../src/models/registry.js';

/**
 * The workloads of `npm run bench`. A certify case is CERTIFY's inner loop (Philox noise + forward
 * + arg-max counts) at the batch the reference scripts use (Cohen et al.'s certify.py: 400 for
 * CIFAR; 1000 for LeNet); its peer is onnxruntime-node on the ONNX export of the same weights. A
 * train case is one consistency-training step (m = 2) with `batch` noisy samples, i.e. batch / m
 * images each noised m times, then SGD-Nesterov with weight decay; its peer is the same step in
 * PyTorch (bench/pytorch_train.py).
 */
export interface BenchCase {
  arch: 'lenet' | 'cifar_resnet20' | 'cifar_resnet110' | 'cifar_densenet40' | 'resnet50';
  kind: 'certify' | 'train';
  /** Noisy samples per forward call (certify) or per optimizer step (train). */
  batch: number;
  peer: 'onnxruntime' | 'pytorch';
}

export const CASES = {
  'lenet-certify': { arch: 'lenet', kind: 'certify', batch: 1000, peer: 'onnxruntime' },
  'resnet20-certify': { arch: 'cifar_resnet20', kind: 'certify', batch: 400, peer: 'onnxruntime' },
  'resnet110-certify': { arch: 'cifar_resnet110', kind: 'certify', batch: 400, peer: 'onnxruntime' },
  // ImageNet shape (224×224×3); 64 per call keeps a round to seconds (Cohen et al. use 400 on a GPU).
  'resnet50-certify': { arch: 'resnet50', kind: 'certify', batch: 64, peer: 'onnxruntime' },
  'lenet-train-consistency': { arch: 'lenet', kind: 'train', batch: 256, peer: 'pytorch' },
  'resnet20-train': { arch: 'cifar_resnet20', kind: 'train', batch: 128, peer: 'pytorch' },
  'resnet110-train': { arch: 'cifar_resnet110', kind: 'train', batch: 128, peer: 'pytorch' },
  'densenet40-train': { arch: 'cifar_densenet40', kind: 'train', batch: 128, peer: 'pytorch' },
} as const satisfies Record<string, BenchCase>;

export type CaseName = keyof typeof CASES;
export const CASE_NAMES = Object.keys(CASES) as CaseName[];

/** Consistency regularization's number of noisy copies in every train case (the paper's default m = 2). */
export const NUM_NOISE = 2;
export const SIGMA = 0.25;

export function datasetOf(c: BenchCase): (typeof DATASETS)[keyof typeof DATASETS] {
  return c.arch === 'lenet' ? DATASETS.mnist : c.arch === 'resnet50' ? DATASETS.imagenet : DATASETS.cifar10;
}

/** The case's network with fixed weights (seed 1), so every engine's process builds the same one. */
export function buildModel(c: BenchCase): tfl.LayersModel {
  const dataset = datasetOf(c);
  return architectureFor(c.arch, dataset.shape).build({
    numClasses: dataset.numClasses,
    inputShape: dataset.shape,
    normalization: dataset.normalization,
    seed: 1,
  });
}
