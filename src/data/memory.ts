import type { ImageShape } from '../base/shapes.js';
import type { InMemoryDataset, Split } from './types.js';

/** An InMemoryDataset over packed NHWC float32 images and int32 labels. */
export class MemoryDataset implements InMemoryDataset {
  readonly size: number;
  private readonly imageSize: number;

  constructor(
    readonly name: string,
    readonly split: Split,
    readonly shape: ImageShape,
    readonly numClasses: number,
    readonly images: Float32Array,
    readonly labels: Int32Array,
    /** Where the data came from (files or the bundled sample), for CLIs to report. */
    readonly source: string,
  ) {
    this.size = labels.length;
    this.imageSize = shape[0] * shape[1] * shape[2];
    if (images.length !== this.size * this.imageSize) {
      throw new RangeError(`${labels.length} labels need ${this.size * this.imageSize} floats, got ${images.length}`);
    }
  }

  label(i: number): number {
    this.check(i);
    return this.labels[i];
  }

  /** A copy, so callers cannot alter the dataset through it. */
  async image(i: number): Promise<Float32Array> {
    this.check(i);
    return this.images.slice(i * this.imageSize, (i + 1) * this.imageSize);
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new RangeError(`index ${i} out of range [0, ${this.size}) of ${this.name}/${this.split}`);
    }
  }
}
