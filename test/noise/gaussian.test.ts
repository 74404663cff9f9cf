import { test } from 'node:test';
import assert from 'node:assert/strict';
import { philox4x32 } from '../../src/noise/philox.js';
import { fillGaussian, noisyCopies, SUBSTREAM } from '../../src/noise/gaussian.js';

const hex = (w: Uint32Array) => Array.from(w, (v) => v.toString(16).padStart(8, '0')).join(' ');

test('Philox4x32-10 matches the Random123 known-answer vectors', () => {
  const out = new Uint32Array(4);
  philox4x32(0, 0, 0, 0, 0, 0, out);
  assert.equal(hex(out), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
  assert.equal(hex(out), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
  assert.equal(hex(out), 'd16cfe09 94fdcceb 5001e420 24126ea1');
});

test('a noise stream does not depend on how it is split into batches', () => {
  const key = { seed: 2 ** 40 + 7, stream: 3, substream: 1 };
  const whole = new Float32Array(103);
  fillGaussian(whole, key, 5, 0.5);
  const parts = new Float32Array(103);
  for (const [from, to] of [
    [0, 1],
    [1, 38],
    [38, 103],
  ] as const)
    fillGaussian(parts.subarray(from, to), key, 5 + from, 0.5);
  assert.deepEqual(parts, whole);
});

test('different seeds, streams and substreams give different noise', () => {
  const draw = (seed: number, stream: number, substream: number) => {
    const out = new Float32Array(8);
    fillGaussian(out, { seed, stream, substream }, 0, 1);
    return out;
  };
  const a = draw(0, 0, 0);
  assert.notDeepEqual(draw(1, 0, 0), a);
  assert.notDeepEqual(draw(0, 1, 0), a);
  assert.notDeepEqual(draw(0, 0, 1), a);
});

test('noise has the moments and tail mass of N(0, sigma^2)', () => {
  const sigma = 0.25;
  const n = 200_000;
  const z = new Float32Array(n);
  fillGaussian(z, { seed: 11, stream: 0, substream: 0 }, 0, sigma);
  let sum = 0,
    sq = 0,
    quart = 0,
    beyond = 0;
  for (const v of z) {
    sum += v;
    sq += v * v;
    quart += v ** 4;
    if (Math.abs(v) > 1.96 * sigma) beyond++;
  }
  const mean = sum / n;
  const variance = sq / n - mean * mean;
  // Standard errors: sigma/sqrt(n) for the mean, sigma^2*sqrt(2/n) for the variance.
  assert.ok(Math.abs(mean) < (5 * sigma) / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - sigma ** 2) < 5 * sigma ** 2 * Math.sqrt(2 / n), `variance ${variance}`);
  assert.ok(Math.abs(quart / n / sigma ** 4 - 3) < 0.1, 'kurtosis of a Gaussian is 3');
  const p = 0.05;
  assert.ok(Math.abs(beyond / n - p) < 5 * Math.sqrt((p * (1 - p)) / n), `two-sided 5% tail ${beyond / n}`);
});

test('noisyCopies: row r is x + σ·z of sample first + r, the noise fillGaussian draws at that offset', () => {
  const key = { seed: 9, stream: 4, substream: SUBSTREAM.estimate };
  const x = Float32Array.from({ length: 6 }, (_, i) => i / 7);
  const out = new Float32Array(3 * x.length);
  noisyCopies(out, x, key, 5, 0.5);
  const z = new Float32Array(out.length);
  fillGaussian(z, key, 5 * x.length, 0.5);
  assert.deepEqual(
    out,
    z.map((v, i) => Math.fround(v + x[i % x.length]!)),
  );
});
