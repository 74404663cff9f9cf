import type { ImageShape } from '../base/shapes.js';

export type Split = 'train' | 'test';

/** A labelled image dataset; images are float32 NHWC in [0, 1]. */
export interface ImageDataset {
  readonly name: string;
  readonly split: Split;
  readonly size: number;
  readonly shape: ImageShape;
  readonly numClasses: number;
  label(i: number): number;
  /** Image i as H*W*C floats in [0, 1] (test-time preprocessing only, no augmentation). */
  image(i: number): Promise<Float32Array>;
}

/** A dataset held in memory (MNIST-like, CIFAR-10): direct access for fast batching. */
export interface InMemoryDataset extends ImageDataset {
  readonly images: Float32Array;
  readonly labels: Int32Array;
}
