import type { ImageShape } from '../../src/base/shapes.js';
import type { BaseClassifier } from '../../src/smoothing/classifier.js';

/** 4×4×1 images: small enough that thousands of samples take milliseconds. */
export const LINEAR_SHAPE: ImageShape = [4, 4, 1];
const d = 16;

/** w with ‖w‖ = 1, alternating ±1/4. */
export const UNIT = Float64Array.from({ length: d }, (_, j) => (j % 2 === 0 ? 1 : -1) / 4);

/** An image with w·x = 0 (8 terms of +1/8 and 8 of −1/8), so the classifier's margin is its bias b. */
export const ZERO_MARGIN_IMAGE = new Float32Array(d).fill(0.5);

/**
 * f(x) = 1 if w·x + b > 0 else 0 with ‖w‖ = 1. Under x + δ, δ ~ N(0, σ²I), w·δ ~ N(0, σ²),
 * so p_A = Φ(|w·x + b| / σ) and the smoothed classifier's exact L2 radius is |w·x + b|.
 * `calls` counts classify calls (batches).
 */
export function linearClassifier(b: number, w: Float64Array = UNIT): BaseClassifier & { readonly calls: number } {
  let calls = 0;
  return {
    inputShape: LINEAR_SHAPE,
    numClasses: 2,
    async classify(batch, batchSize) {
      calls++;
      const out = new Int32Array(batchSize);
      for (let i = 0; i < batchSize; i++) {
        let s = b;
        for (let j = 0; j < d; j++) s += w[j]! * batch[i * d + j]!;
        out[i] = s > 0 ? 1 : 0;
      }
      return out;
    },
    get calls() {
      return calls;
    },
  };
}
