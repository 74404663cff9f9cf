import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadAddon } from '../../src/backend/addon.js';
import { nativeClassifier } from '../../src/backend/native-classifier.js';
import { nativePhiloxNoise } from '../../src/backend/noise.js';
import { fillGaussian, noisyCopies, SUBSTREAM, type NoiseKey } from '../../src/noise/gaussian.js';
import { Smooth } from '../../src/smoothing/smooth.js';
import { tfjsClassifier } from '../../src/smoothing/tfjs-classifier.js';
import { philoxNoise } from '../../src/noise/tensor-noise.js';
import { ENGINE, rand } from './parity.js';

const skip = ENGINE !== 'native' && 'the native backend is not under test';
const addon = loadAddon().addon;

/** JS reference: sigma·z for elements [offset, offset + n) of the stream. */
function reference(key: NoiseKey, offset: number, n: number, sigma: number): Float32Array {
  const out = new Float32Array(n);
  fillGaussian(out, key, offset, sigma);
  return out;
}

function assertBitsEqual(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: element ${i} is ${actual[i]}, fillGaussian gives ${expected[i]}`);
  }
}

describe('native Gaussian noise', { skip }, () => {
  const keys: [NoiseKey, number, number, number][] = [
    [{ seed: 0, stream: 0, substream: 0 }, 0, 200_003, 1],
    [{ seed: 12345, stream: 7, substream: SUBSTREAM.estimate }, 3, 100_001, 0.25],
    // A seed above 2^32 uses both key words; an offset above 2^32 both counter words.
    [{ seed: 2 ** 40 + 17, stream: 4294967295, substream: 2 }, 2 ** 33 + 1, 50_000, 0.5],
    [{ seed: Number.MAX_SAFE_INTEGER, stream: 99, substream: 1 }, 5, 4097, 1.0],
  ];
  for (const [key, offset, n, sigma] of keys) {
    test(`equals fillGaussian bit for bit (seed ${key.seed}, offset ${offset}, sigma ${sigma})`, () => {
      const out = new Float32Array(n);
      addon!.gaussian(out, key.seed, key.stream, key.substream, offset, sigma, false);
      assertBitsEqual(out, reference(key, offset, n, sigma), 'gaussian');
    });
  }

  test('does not depend on how the stream is split into calls', () => {
    const key = { seed: 3, stream: 1, substream: 0 };
    const whole = new Float32Array(10_000);
    addon!.gaussian(whole, key.seed, key.stream, key.substream, 0, 1, false);
    const pieces = new Float32Array(10_000);
    for (let start = 0, size = 1; start < pieces.length; start += size, size = size * 3 + 1) {
      const part = pieces.subarray(start, Math.min(pieces.length, start + size));
      addon!.gaussian(part, key.seed, key.stream, key.substream, start, 1, false);
    }
    assertBitsEqual(pieces, whole, 'split stream');
  });

  test('accumulates in place: x + sigma·z as float32 additions', () => {
    const key = { seed: 9, stream: 2, substream: 3 };
    const x = (rand([1001], 1).dataSync() as Float32Array).slice();
    const expected = reference(key, 17, x.length, 0.5).map((z, i) => Math.fround(x[i]! + z));
    addon!.gaussian(x, key.seed, key.stream, key.substream, 17, 0.5, true);
    assertBitsEqual(x, expected, 'accumulated');
  });

  test('noisyCopies writes x + sigma·z_j for consecutive samples j', () => {
    const key = { seed: 5, stream: 11, substream: SUBSTREAM.select };
    const x = rand([7, 5, 3], 2, 0, 1).dataSync() as Float32Array;
    const d = x.length,
      count = 9,
      first = 13;
    const out = new Float32Array(count * d);
    addon!.noisyCopies(out, x, count, key.seed, key.stream, key.substream, first, 0.75);
    const noise = reference(key, first * d, count * d, 0.75);
    assertBitsEqual(
      out,
      noise.map((z, i) => Math.fround(x[i % d]! + z)),
      'noisy copies',
    );
    // The JavaScript twin every JS noise loop uses: the same bits.
    const js = new Float32Array(count * d);
    noisyCopies(js, x, key, first, 0.75);
    assertBitsEqual(js, out, 'JavaScript noisyCopies');
  });

  test('nativePhiloxNoise draws what philoxNoise draws, call after call', () => {
    const native = nativePhiloxNoise(42, 7),
      portable = philoxNoise(42, 7);
    for (const shape of [[3, 5], [2, 4, 4, 1], [1]]) {
      const a = native.gaussian(shape, 0.5),
        b = portable.gaussian(shape, 0.5);
      assert.deepEqual(a.shape, shape);
      assertBitsEqual(a.dataSync() as Float32Array, b.dataSync() as Float32Array, `shape ${shape.join('×')}`);
      tf.dispose([a, b]);
    }
  });
});

describe('certification counts through nativeClassifier', () => {
  // A fixed linear classifier on 4×4×1 inputs: 3 classes, so noise decides a visible share of votes.
  const w = rand([16, 3], 3, -1, 1);
  const model = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], 16]), w);
  const shape = { inputShape: [4, 4, 1] as [number, number, number], numClasses: 3 };
  const x = rand([16], 4, 0, 1).dataSync() as Float32Array;
  const key = { seed: 77, stream: 3, substream: SUBSTREAM.estimate };

  test('countNoisy gives exactly the counts of the portable path, for any batch size', async () => {
    const portable = new Smooth(tfjsClassifier(model, shape), 0.5, 77);
    const expected = await portable.sampleCounts(x, 1000, 64, key);
    assert.ok(expected.filter((c) => c > 0).length >= 2, 'the test needs votes for more than one class');
    const fast = nativeClassifier(model, shape);
    for (const batchSize of [1000, 64, 7]) {
      const counts = new Float64Array(3);
      await fast.countNoisy!(x, 0.5, key, 0, 1000, batchSize, counts);
      assert.deepEqual(Array.from(counts), Array.from(expected), `batch size ${batchSize}`);
    }
  });

  test('countNoisy adds to counts from offset on: two halves make the whole', async () => {
    const fast = nativeClassifier(model, shape);
    const whole = new Float64Array(3),
      halves = new Float64Array(3);
    await fast.countNoisy!(x, 0.5, key, 0, 600, 100, whole);
    await fast.countNoisy!(x, 0.5, key, 0, 250, 100, halves);
    await fast.countNoisy!(x, 0.5, key, 250, 350, 100, halves);
    assert.deepEqual(Array.from(halves), Array.from(whole));
  });
});

test('an addon error reaches JS as an Error instead of aborting the process', { skip }, () => {
  // 9-wide input, 3-wide filter, stride 2, no padding: the output is 4 wide, not 9.
  assert.throws(
    () =>
      addon!.conv2d(
        new Float32Array(81),
        [1, 9, 9, 1],
        new Float32Array(9),
        [3, 3, 1, 1],
        new Float32Array(81),
        [1, 9, 9, 1],
        [2, 2, 1, 1, 0, 0, 0, 0],
        null,
        0,
        0,
        null,
        false,
      ),
    /smoothcert native/,
  );
});
