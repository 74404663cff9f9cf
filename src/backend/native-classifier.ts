import * as tf from '@tensorflow/tfjs-core';
import { noisyCopies, type NoiseKey } from '../noise/gaussian.js';
import type { ImageShape } from '../base/shapes.js';
import { argMaxRows, NonFiniteLogitsError, type BaseClassifier } from '../smoothing/classifier.js';
import { tfjsClassifier, type TfjsModel } from '../smoothing/tfjs-classifier.js';
import { NativeBackend, type Precision } from './native-backend.js';

export interface NativeClassifierOptions {
  /**
   * 'bf16': every forward convolution of this classifier runs in bf16 (see Precision): faster on
   * CPUs with AVX512-BF16, and a different base classifier, so its certificates hold for the bf16
   * model as run. Needs the native backend on such a CPU. Default 'fp32'.
   */
  precision?: Precision;
}

/**
 * A tfjs model as a BaseClassifier with the certification fast path `countNoisy` while the
 * native backend is active: the addon writes x + σ·z for a whole batch straight into a reused
 * input buffer (the same Philox noise as noise/gaussian.ts's noisyCopies, bit for bit), the model runs on it, and
 * the addon tallies the arg-max class of each logit row in the backend's own buffer. No noise
 * array, no per-sample logits and no labels reach JS, and memory is one batch whatever n is.
 * On any other backend countNoisy falls back to the same computation through JS arrays.
 */
export function nativeClassifier(
  model: TfjsModel,
  shape?: { inputShape: ImageShape; numClasses: number },
  options: NativeClassifierOptions = {},
): BaseClassifier {
  const precision = options.precision ?? 'fp32';
  const apply = typeof model === 'function' ? model : (x: tf.Tensor4D) => model.apply(x, { training: false }) as tf.Tensor;
  let forward = apply;
  let base = tfjsClassifier(model, shape);
  if (precision === 'bf16') {
    const backend = tf.backend();
    if (!(backend instanceof NativeBackend)) throw new Error('precision bf16 needs the native backend (oneDNN); this one is fp32 only');
    if (!backend.addon.info().bf16) throw new Error('precision bf16 needs a CPU with AVX512-BF16 or AMX, which this one lacks; use fp32');
    forward = (x) => backend.withPrecision('bf16', () => apply(x));
    base = tfjsClassifier(forward, { inputShape: base.inputShape, numClasses: base.numClasses });
  }
  const [h, w, c] = base.inputShape;
  const d = h * w * c;
  let input: Float32Array | null = null;

  return {
    ...base,
    async labelsNoisy(x: Float32Array, sigma: number, key: NoiseKey, offset: number, num: number, labels: Int32Array): Promise<void> {
      const backend = tf.backend();
      if (x.length !== d) throw new RangeError(`input has ${x.length} values, the model takes ${h}×${w}×${c} = ${d}`);
      if (!input || input.length < num * d) input = new Float32Array(num * d);
      const batch = input.subarray(0, num * d);
      if (backend instanceof NativeBackend) {
        backend.addon.noisyCopies(batch, x, num, key.seed, key.stream, key.substream, offset, sigma);
        labels.set(tf.tidy(() => argMaxRows(backend.f32(forward(tf.tensor4d(batch, [num, h, w, c]))), num, base.numClasses)));
      } else {
        labels.set(await labelsThroughJs(base, batch, x, sigma, key, offset, num));
      }
    },
    async countNoisy(
      x: Float32Array,
      sigma: number,
      key: NoiseKey,
      offset: number,
      num: number,
      batchSize: number,
      counts: Float64Array,
    ): Promise<void> {
      const backend = tf.backend();
      if (x.length !== d) throw new RangeError(`input has ${x.length} values, the model takes ${h}×${w}×${c} = ${d}`);
      // Not from the backend's pool: the buffer outlives each tensor that wraps it.
      if (!input || input.length < Math.min(batchSize, num) * d) input = new Float32Array(Math.min(batchSize, num) * d);
      for (let done = 0; done < num; ) {
        const n = Math.min(batchSize, num - done);
        const batch = input.subarray(0, n * d);
        if (backend instanceof NativeBackend) {
          backend.addon.noisyCopies(batch, x, n, key.seed, key.stream, key.substream, offset + done, sigma);
          const skipped = tf.tidy(() => {
            const logits = forward(tf.tensor4d(batch, [n, h, w, c]));
            return backend.addon.countArgMax(backend.f32(logits), n, base.numClasses, counts);
          });
          if (skipped > 0) throw new NonFiniteLogitsError(skipped);
        } else {
          await countThroughJs(base, batch, x, sigma, key, offset + done, n, counts);
        }
        done += n;
      }
    },
  };
}

async function countThroughJs(
  base: BaseClassifier,
  batch: Float32Array,
  x: Float32Array,
  sigma: number,
  key: NoiseKey,
  first: number,
  n: number,
  counts: Float64Array,
): Promise<void> {
  const labels = await labelsThroughJs(base, batch, x, sigma, key, first, n);
  for (let i = 0; i < n; i++) counts[labels[i]!]!++;
}

/** The labels of x + σ·z for samples [first, first + n) of the stream, with the noise made in JS (off the native backend). */
async function labelsThroughJs(
  base: BaseClassifier,
  batch: Float32Array,
  x: Float32Array,
  sigma: number,
  key: NoiseKey,
  first: number,
  n: number,
): Promise<Int32Array> {
  noisyCopies(batch, x, key, first, sigma);
  return base.classify(batch, n);
}
