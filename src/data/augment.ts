/**
 * CIFAR-10 training augmentation of the authors' code: RandomCrop(32, padding=4) then
 * RandomHorizontalFlip(), applied per image of an NHWC batch with a seeded Rng.
 */
import type { ImageShape } from '../base/shapes.js';
import { randInt, type Rng } from './rng.js';

/**
 * Writes into `dst` the H×W window at (top, left) of `src` zero-padded by `pad` on every
 * side, mirrored left-right if `flip`: dst[y][x] = padded[top + y][left + x'] with
 * x' = flip ? W-1-x : x, where padded[r][c] = src[r - pad][c - pad] or 0 outside.
 */
export function cropPadFlip(
  src: Float32Array,
  dst: Float32Array,
  shape: ImageShape,
  pad: number,
  top: number,
  left: number,
  flip: boolean,
): void {
  const [h, w, c] = shape;
  for (let y = 0; y < h; y++) {
    const sy = top + y - pad;
    for (let x = 0; x < w; x++) {
      const sx = left + (flip ? w - 1 - x : x) - pad;
      const d = (y * w + x) * c;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        dst.fill(0, d, d + c);
      } else {
        const s = (sy * w + sx) * c;
        for (let k = 0; k < c; k++) dst[d + k] = src[s + k];
      }
    }
  }
}

/**
 * Random crop with zero padding `pad` and a horizontal flip with probability 1/2, for
 * each of the `n` images of `batch`. Per image the Rng is drawn for top, left, flip, in
 * that order (as torchvision draws them). Returns a new batch.
 */
export function randomCropFlip(batch: Float32Array, n: number, shape: ImageShape, rng: Rng, pad = 4): Float32Array {
  const size = shape[0] * shape[1] * shape[2];
  if (batch.length < n * size) throw new RangeError(`batch holds ${batch.length} floats, ${n} images need ${n * size}`);
  const out = new Float32Array(n * size);
  for (let i = 0; i < n; i++) {
    const top = randInt(rng, 2 * pad + 1);
    const left = randInt(rng, 2 * pad + 1);
    const flip = rng.next() < 0.5;
    cropPadFlip(batch.subarray(i * size, (i + 1) * size), out.subarray(i * size, (i + 1) * size), shape, pad, top, left, flip);
  }
  return out;
}
