import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { ABSTAIN, Smooth } from '../../src/smoothing/smooth.js';
import { fillGaussian } from '../../src/noise/gaussian.js';
import { normalInverseCdf } from '../../src/smoothing/bounds.js';
import type { ImageShape } from '../../src/base/shapes.js';
import { NonFiniteLogitsError, type BaseClassifier } from '../../src/smoothing/classifier.js';
import { nativeClassifier } from '../../src/backend/native-classifier.js';
import { tfjsClassifier } from '../../src/smoothing/tfjs-classifier.js';
import { linearClassifier, UNIT } from '../helpers/linear.js';

const shape: ImageShape = [4, 4, 1];
const d = 16;

const image = new Float32Array(d).fill(0.5);
// w·x = 0 for this image (8 terms of +1/8 and 8 of −1/8), so the margin is b.

test('CERTIFY returns a radius close to the true radius of a linear classifier', async () => {
  const sigma = 0.5;
  const margin = 0.3;
  const smooth = new Smooth(linearClassifier(margin), sigma, 1);
  const r = await smooth.certify(image, 100, 20_000, 0.001, 1000);
  assert.equal(r.prediction, 1);
  assert.ok(r.radius <= margin, `radius ${r.radius} must not exceed the true radius ${margin}`);
  // With n = 20000 the bound is within a few hundredths of σ of the truth.
  assert.ok(r.radius > margin - 0.05, `radius ${r.radius} too far below ${margin}`);
  assert.equal(r.radius, sigma * normalInverseCdf(r.pABar));
});

test('CERTIFY overstates the true radius no more often than alpha allows', async () => {
  const sigma = 0.25;
  const margin = 0.1;
  const alpha = 0.05;
  const trials = 300;
  const smooth = new Smooth(linearClassifier(margin), sigma, 7);
  let over = 0,
    abstained = 0,
    sum = 0;
  for (let t = 0; t < trials; t++) {
    const r = await smooth.certify(image, 100, 500, alpha, 500, t);
    if (r.prediction === ABSTAIN) {
      abstained++;
      continue;
    }
    assert.equal(r.prediction, 1, 'a wrong class would be certified');
    sum += r.radius;
    if (r.radius > margin) over++;
  }
  const slack = 3 * Math.sqrt(trials * alpha * (1 - alpha));
  assert.ok(over <= trials * alpha + slack, `${over} of ${trials} radii exceed the truth`);
  assert.ok(abstained < trials / 10, `${abstained} abstentions although p_A = Φ(0.4) = 0.655`);
  assert.ok(sum / (trials - abstained) > margin / 2, 'radii are not vacuous');
});

test('CERTIFY abstains when the top class is not a majority', async () => {
  // Three classes by the first coordinate's noise: p = (1/3, 1/3, 1/3), so p_A < 1/2.
  const three: BaseClassifier = {
    inputShape: shape,
    numClasses: 3,
    async classify(batch, batchSize) {
      return Int32Array.from({ length: batchSize }, (_, i) => {
        const z = batch[i * d]! - 0.5;
        return z < -0.4307 * 0.5 ? 0 : z < 0.4307 * 0.5 ? 1 : 2; // Φ(±0.4307) = 1/3, 2/3
      });
    },
  };
  const r = await new Smooth(three, 0.5, 3).certify(image, 100, 5000, 0.001, 1000);
  assert.deepEqual([r.prediction, r.radius], [ABSTAIN, 0]);
});

test('PREDICT abstains on an exact tie and predicts a clear winner', async () => {
  const alternating: BaseClassifier = {
    inputShape: shape,
    numClasses: 3,
    async classify(_batch, batchSize) {
      return Int32Array.from({ length: batchSize }, (_, i) => i % 2);
    },
  };
  const tie = await new Smooth(alternating, 0.5).predict(image, 1000, 0.001, 100);
  assert.equal(tie.prediction, ABSTAIN);
  assert.deepEqual(tie.top, [500, 500]);
  const clear = await new Smooth(linearClassifier(0.5), 0.5).predict(image, 1000, 0.001, 100);
  assert.equal(clear.prediction, 1);
});

test('counts depend on the seed and stream only, not on the batch size', async () => {
  const base = linearClassifier(0.05);
  const key = { seed: 5, stream: 9, substream: 1 };
  const a = await new Smooth(base, 0.5, 5).sampleCounts(image, 1000, 1000, key);
  const b = await new Smooth(base, 0.5, 5).sampleCounts(image, 1000, 37, key);
  assert.deepEqual(a, b);
  const c = await new Smooth(base, 0.5, 5).sampleCounts(image, 1000, 1000, { ...key, stream: 10 });
  assert.notDeepEqual(a, c);
});

test('batches start at multiples of the batch size in the stream, so any split of a range runs the same batches', async () => {
  const base = linearClassifier(0.05);
  const sizes: number[] = [];
  const recording: BaseClassifier = {
    ...base,
    classify: (batch, n) => {
      sizes.push(n);
      return base.classify(batch, n);
    },
  };
  const smooth = new Smooth(recording, 0.5, 5);
  const key = { seed: 5, stream: 9, substream: 1 };
  // Samples [300, 1700) in batches of 500: [300, 500), [500, 1000), [1000, 1500), [1500, 1700).
  const whole = await smooth.sampleCounts(image, 1400, 500, key, 300);
  assert.deepEqual(sizes, [200, 500, 500, 200]);
  // The same range as two jobs cut at a multiple of the batch: the same four batches.
  sizes.length = 0;
  const first = await smooth.sampleCounts(image, 700, 500, key, 300);
  const second = await smooth.sampleCounts(image, 700, 500, key, 1000);
  assert.deepEqual(sizes, [200, 500, 500, 200]);
  assert.deepEqual(
    Array.from(whole),
    Array.from(first).map((c, k) => c + second[k]!),
  );
});

test('a tfjs model certifies like the same linear function in plain JS', async () => {
  await tf.setBackend('cpu');
  const model = tfl.sequential({ layers: [tfl.layers.flatten({ inputShape: shape }), tfl.layers.dense({ units: 2 })] });
  // Logits (0, w·x + b): argmax is 1 exactly when w·x + b > 0.
  const kernel = new Float32Array(d * 2);
  for (let j = 0; j < d; j++) kernel[2 * j + 1] = UNIT[j]!;
  model.layers[1]!.setWeights([tf.tensor2d(kernel, [d, 2]), tf.tensor1d([0, 0.3])]);
  const viaTf = await new Smooth(tfjsClassifier(model), 0.5, 2).certify(image, 50, 2000, 0.001, 500, 4);
  const viaJs = await new Smooth(linearClassifier(0.3), 0.5, 2).certify(image, 50, 2000, 0.001, 500, 4);
  assert.equal(viaTf.prediction, viaJs.prediction);
  // float32 dot products may flip a sample that lies within rounding of the boundary.
  assert.ok(Math.abs(viaTf.nA - viaJs.nA) <= 2, `${viaTf.nA} vs ${viaJs.nA}`);
});

test('bad arguments are refused with the reason', async () => {
  const base = linearClassifier(0.1);
  assert.throws(() => new Smooth(base, 0), /sigma must be > 0/);
  assert.throws(() => new Smooth(base, -1), /sigma must be > 0/);
  const smooth = new Smooth(base, 0.5);
  await assert.rejects(smooth.certify(image, 0, 100, 0.001, 10), /n0 must be an integer ≥ 1/);
  await assert.rejects(smooth.certify(image, 10, 100, 1, 10), /alpha must lie in \(0, 1\)/);
  await assert.rejects(smooth.predict(image, 100, 0, 10), /alpha must lie in \(0, 1\)/);
  await assert.rejects(smooth.certify(new Float32Array(3), 10, 100, 0.01, 10), /expects 4×4×1 = 16/);
});

test('a base classifier with NaN or infinite logits is refused, not counted as votes for class 0', async () => {
  const broken = (value: number) => (x: tf.Tensor4D) => tf.fill([x.shape[0], 3], value);
  for (const value of [NaN, Infinity, -Infinity]) {
    for (const [name, make] of [
      ['tfjs', tfjsClassifier],
      ['native', nativeClassifier],
    ] as const) {
      const base = make(broken(value), { inputShape: shape, numClasses: 3 });
      await assert.rejects(
        new Smooth(base, 0.25).certify(new Float32Array(d), 10, 50, 0.001, 20),
        (e: unknown) => e instanceof NonFiniteLogitsError && /NaN or infinite logits/.test(e.message),
        `${name}, ${value}`,
      );
    }
  }
  // One broken row among finite ones is enough.
  const oneBad = tfjsClassifier(
    (x) =>
      tf.tidy(() => {
        const rows = x.shape[0];
        const last = tf.tile(tf.reshape(tf.oneHot(tf.tensor1d([rows - 1], 'int32'), rows), [rows, 1]), [1, 3]);
        return tf.where(tf.cast(last, 'bool'), tf.fill([rows, 3], NaN), tf.zeros([rows, 3]));
      }),
    { inputShape: shape, numClasses: 3 },
  );
  await assert.rejects(new Smooth(oneBad, 0.25).predict(new Float32Array(d), 10, 0.001, 10), NonFiniteLogitsError);
});

test('an aborted signal stops certify between two batches', async () => {
  const controller = new AbortController();
  let batches = 0;
  const base: BaseClassifier = {
    inputShape: shape,
    numClasses: 2,
    async classify(_batch, n) {
      if (++batches === 3) controller.abort();
      return new Int32Array(n);
    },
  };
  await assert.rejects(
    new Smooth(base, 0.25, 0, { signal: controller.signal }).certify(new Float32Array(d), 10, 1000, 0.001, 10),
    (e: unknown) => e instanceof Error && e.name === 'AbortError',
  );
  assert.equal(batches, 3);
});

test('σ beyond 2^125 (x + σz would overflow float32) and non-finite inputs are refused, not certified', async () => {
  const base = linearClassifier(0.3);
  // At the bound every draw stays finite in float32: |z| ≤ 6.77 for this generator.
  assert.doesNotThrow(() => new Smooth(base, 2 ** 125));
  for (const sigma of [1e300, 2 ** 126, Infinity, Number.NaN]) {
    assert.throws(() => new Smooth(base, sigma), /sigma must be > 0 and ≤ 2\^125, so that x \+ σz stays finite in float32/, String(sigma));
  }
  const huge = new Float32Array(d);
  const draws = new Smooth(base, 2 ** 125);
  fillGaussian(huge, { seed: 0, stream: 0, substream: 0 }, 0, 2 ** 125);
  assert.ok(huge.every(Number.isFinite), 'σ = 2^125 keeps every noisy value finite');
  const broken = Float32Array.from(image);
  broken[3] = Number.NaN;
  await assert.rejects(draws.certify(broken, 10, 100, 0.001, 100), /input has NaN or infinite values/);
});

test('adaptive CERTIFY computes whole batches only (one shape) and counts exactly the samples it asks for', async () => {
  const base = linearClassifier(0.05);
  const sizes: number[] = [];
  const recording: BaseClassifier = {
    ...base,
    classify: (batch, n) => {
      sizes.push(n);
      return base.classify(batch, n);
    },
  };
  const r = await new Smooth(recording, 0.5, 3).certifyAdaptive(
    image,
    { n0: 100, maxN: 20_000, alpha: 0.001, radii: [0.25], batchSize: 500 },
    7,
  );
  assert.ok(sizes.length > 0 && sizes.every((n) => n === 500), `batch sizes ${[...new Set(sizes)].join(', ')}`);
  // The same ranges counted batch by batch as asked (no whole batches) give the same counts.
  const key = { seed: 3, stream: 7, substream: 1 };
  const whole = await new Smooth(base, 0.5, 3).sampleCounts(image, 1234, 500, key, 321, true);
  const asked = await new Smooth(base, 0.5, 3).sampleCounts(image, 1234, 500, key, 321);
  assert.deepEqual(Array.from(whole), Array.from(asked));
  assert.ok(r.samples > 100);
});
