import { randomCropFlip } from '../data/augment.js';
import type { ImageDataset, InMemoryDataset } from '../data/types.js';
import type { Rng } from '../data/rng.js';
import type { TrainAugmentation } from '../data/datasets.js';

/** One loader batch: images in [0, 1] NHWC and their labels. */
export interface LoaderBatch {
  x: Float32Array;
  labels: Int32Array;
  size: number;
}

/** A training set as the loop sees it: examples 0..size−1, loaded in batches with augmentation. */
export interface TrainingData {
  readonly size: number;
  readonly shape: [number, number, number];
  load(indices: ArrayLike<number>, rng: Rng): Promise<LoaderBatch>;
}

type AugmentedDataset = ImageDataset & { trainImage?(i: number, rng: Rng): Promise<Float32Array> };

/**
 * Training data from a dataset: the first `limit` examples, augmented as the authors' code
 * does for the dataset (none for MNIST-like sets, crop + flip for CIFAR-10, random resized
 * crop + flip for ImageNet, which decodes one image at a time so memory stays bounded).
 */
export function trainingData(dataset: AugmentedDataset, augmentation: TrainAugmentation, limit = dataset.size): TrainingData {
  const shape = dataset.shape;
  const d = shape[0] * shape[1] * shape[2];
  const inMemory = 'images' in dataset ? (dataset as InMemoryDataset) : null;
  return {
    size: Math.min(limit, dataset.size),
    shape,
    async load(indices, rng) {
      const n = indices.length;
      let x: Float32Array = new Float32Array(n * d);
      const labels = new Int32Array(n);
      for (let k = 0; k < n; k++) {
        const i = indices[k]!;
        labels[k] = dataset.label(i);
        if (inMemory) x.set(inMemory.images.subarray(i * d, (i + 1) * d), k * d);
        else if (augmentation === 'random-resized-crop' && dataset.trainImage) x.set(await dataset.trainImage(i, rng), k * d);
        else x.set(await dataset.image(i), k * d);
      }
      if (augmentation === 'crop-flip') x = randomCropFlip(x, n, shape, rng);
      return { x, labels, size: n };
    },
  };
}

/** Fisher–Yates shuffle of 0..n−1 with a seeded Rng (the loader's per-epoch order). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
