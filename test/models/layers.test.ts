import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { conv, TorchInit } from '../../src/models/layers.js';

/** PyTorch's Conv2d on one channel, computed directly: zero padding `pad` on every side. */
function torchConv(x: number[][], w: number[][], stride: number, pad: number): number[][] {
  const n = x.length;
  const k = w.length;
  const outSize = Math.floor((n + 2 * pad - k) / stride) + 1;
  const at = (i: number, j: number) => (i < 0 || j < 0 || i >= n || j >= n ? 0 : x[i]![j]!);
  return Array.from({ length: outSize }, (_, i) =>
    Array.from({ length: outSize }, (_, j) => {
      let s = 0;
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) s += w[a]![b]! * at(i * stride - pad + a, j * stride - pad + b);
      return s;
    }),
  );
}

for (const [stride, size] of [
  [1, 6],
  [2, 6],
  [2, 7],
] as const) {
  test(`conv(3×3, stride ${stride}, padding 1) on ${size}×${size} matches PyTorch's padding`, () => {
    const x = Array.from({ length: size }, (_, i) => Array.from({ length: size }, (_, j) => ((i * 5 + j * 3) % 7) / 7));
    const w = [
      [0.1, -0.2, 0.3],
      [0.4, 0.5, -0.6],
      [-0.7, 0.8, 0.9],
    ];
    const input = tfl.input({ shape: [size, size, 1] });
    const out = conv(input, { name: 'c', filters: 1, kernel: 3, stride, padding: 1, init: 'he' }, new TorchInit(1));
    const model = tfl.model({ inputs: input, outputs: out });
    model.getLayer('c').setWeights([tf.tensor4d(w.flat(), [3, 3, 1, 1])]);
    const y = model.predict(tf.tensor4d(x.flat(), [1, size, size, 1])) as tf.Tensor;
    const expected = torchConv(x, w, stride, 1);
    assert.deepEqual(y.shape, [1, expected.length, expected.length, 1]);
    const got = y.dataSync();
    expected.flat().forEach((v, i) => assert.ok(Math.abs(got[i]! - v) < 1e-5, `output ${i}: ${got[i]} vs ${v}`));
  });
}

test('TorchInit: a seed fixes the weights; He normal has std √(2/(k²·out)); PyTorch uniform stays within 1/√fanIn', () => {
  const build = (seed: number) => {
    const init = new TorchInit(seed);
    const input = tfl.input({ shape: [8, 8, 64] });
    const he = conv(input, { name: 'he', filters: 64, kernel: 3, padding: 1, init: 'he' }, init);
    const torch = conv(he, { name: 'torch', filters: 64, kernel: 3, padding: 1, init: 'torch' }, init);
    return tfl.model({ inputs: input, outputs: torch });
  };
  const a = build(7);
  const b = build(7);
  const c = build(8);
  const heA = Array.from(a.getLayer('he').getWeights()[0]!.dataSync());
  assert.deepEqual(Array.from(b.getLayer('he').getWeights()[0]!.dataSync()), heA);
  assert.notDeepEqual(Array.from(c.getLayer('he').getWeights()[0]!.dataSync()), heA);
  const std = Math.sqrt(heA.reduce((s, v) => s + v * v, 0) / heA.length);
  const expectedStd = Math.sqrt(2 / (9 * 64));
  assert.ok(Math.abs(std / expectedStd - 1) < 0.03, `std ${std} vs ${expectedStd}`);
  // Untruncated normal: some weights lie beyond 2σ (tfjs' truncatedNormal would cut them off).
  assert.ok(heA.some((v) => Math.abs(v) > 2.5 * expectedStd));
  const bound = 1 / Math.sqrt(9 * 64);
  for (const w of a.getLayer('torch').getWeights()) {
    const v = Array.from(w.dataSync());
    const max = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    assert.ok(max <= bound && max > 0.9 * bound, `max |w| ${max} vs bound ${bound}`);
  }
});
