import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import quantile from '@stdlib/stats-base-dists-normal-quantile';
import cdf from '@stdlib/stats-base-dists-normal-cdf';
import { normalQuantile, normalQuantileTensor } from '../../src/training/losses/normal-quantile.js';

const grid = (from: number, to: number, n: number) => Array.from({ length: n }, (_, i) => from * (to / from) ** (i / (n - 1)));

// stdlib computes √2·erfinv(2p − 1), exact to float64 except below p ≈ 1e-6, where 2p − 1 rounds.
test('Φ⁻¹ (AS 241 PPND7) agrees with stdlib within 1.5e-7·max(1, |x|)', () => {
  const ps = [...grid(1e-6, 0.5, 500), ...grid(1e-15, 0.5, 500).map((p) => 1 - p), 0.075, 0.0751, 0.3, 0.5, 0.7, 0.925];
  for (const p of ps) {
    const want = quantile(p, 0, 1);
    assert.ok(Math.abs(normalQuantile(p) - want) <= 1.5e-7 * Math.max(1, Math.abs(want)), `p = ${p}: ${normalQuantile(p)} vs ${want}`);
  }
});

test('Φ⁻¹ keeps its relative accuracy deep in the lower tail (checked through Φ)', () => {
  for (const p of grid(1e-300, 1e-6, 300)) {
    const x = normalQuantile(p);
    // A relative error ε in x changes Φ(x) by about x²·ε relative to p.
    assert.ok(Math.abs(cdf(x, 0, 1) / p - 1) <= 1.5e-7 * x * x, `p = ${p}, x = ${x}`);
  }
  assert.equal(normalQuantile(0), -Infinity);
  assert.equal(normalQuantile(1), Infinity);
  assert.ok(Number.isNaN(normalQuantile(-0.1)) && Number.isNaN(normalQuantile(1.5)));
});

test('tensor Φ⁻¹ matches the float64 evaluation within 3e-7·max(1, |x|), across all branches and the endpoints', () => {
  const ps = [
    0,
    1e-45,
    1e-38,
    1e-20,
    1.3e-11,
    1.5e-11,
    1e-8,
    1e-3,
    0.0749,
    0.075,
    0.0751,
    0.1,
    0.3,
    0.5,
    0.7,
    0.9,
    0.925,
    0.9251,
    0.99,
    1 - 1e-6,
    1,
  ];
  const p32 = Float32Array.from([...ps, ...grid(1e-40, 0.5, 300), ...grid(1e-7, 0.5, 300).map((p) => 1 - p)]);
  const got = normalQuantileTensor(tf.tensor1d(p32)).dataSync();
  p32.forEach((p, i) => {
    const want = normalQuantile(p);
    if (!Number.isFinite(want)) assert.equal(got[i], want);
    else assert.ok(Math.abs(got[i]! - want) <= 3e-7 * Math.max(1, Math.abs(want)), `p = ${p}: ${got[i]} vs ${want}`);
  });
});

test('tensor Φ⁻¹ has the exact derivative 1/φ(Φ⁻¹(p))', () => {
  const p32 = Float32Array.from([1e-30, 1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 0.999999]);
  const grad = tf
    .grad((p: tf.Tensor) => tf.sum(normalQuantileTensor(p)))(tf.tensor1d(p32))
    .dataSync();
  p32.forEach((p, i) => {
    const x = normalQuantile(p);
    const want = Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
    assert.ok(Math.abs(grad[i]! / want - 1) < 1e-4, `p = ${p}: ${grad[i]} vs ${want}`);
  });
});
