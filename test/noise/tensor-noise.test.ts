import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { philoxNoise } from '../../src/noise/tensor-noise.js';
import { fillGaussian, SUBSTREAM } from '../../src/noise/gaussian.js';

test('philoxNoise draws consecutive slices of the Philox stream (seed, step, SUBSTREAM.train)', () => {
  const source = philoxNoise(42, 7);
  const first = source.gaussian([2, 3, 5], 0.5);
  const second = source.gaussian([4], 0.5);
  assert.deepEqual(first.shape, [2, 3, 5]);
  const want = new Float32Array(34);
  fillGaussian(want, { seed: 42, stream: 7, substream: SUBSTREAM.train }, 0, 0.5);
  assert.deepEqual(Array.from(first.dataSync()), Array.from(want.subarray(0, 30)));
  assert.deepEqual(Array.from(second.dataSync()), Array.from(want.subarray(30)));
  // Each use of the noise has its own substream: no two share values.
  assert.equal(new Set(Object.values(SUBSTREAM)).size, Object.keys(SUBSTREAM).length);
});

test('philoxNoise is reproducible per (seed, step), has the requested σ, and differs across steps', () => {
  const a = Array.from(philoxNoise(1, 3).gaussian([20000], 0.25).dataSync());
  const b = Array.from(philoxNoise(1, 3).gaussian([20000], 0.25).dataSync());
  const c = Array.from(philoxNoise(1, 4).gaussian([20000], 0.25).dataSync());
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.slice(0, 8), c.slice(0, 8));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  assert.ok(Math.abs(mean) < (4 * 0.25) / Math.sqrt(a.length), `mean ${mean}`);
  assert.ok(Math.abs(sd / 0.25 - 1) < 0.03, `sd ${sd}`);
});

test('philoxNoise rejects seeds and steps outside the Philox key and counter ranges', () => {
  assert.throws(() => philoxNoise(-1, 0), RangeError);
  assert.throws(() => philoxNoise(0.5, 0), RangeError);
  assert.throws(() => philoxNoise(0, 2 ** 32), RangeError);
});
