import * as tf from '@tensorflow/tfjs-core';
import { test } from 'node:test';
import { ENGINE, assertMatchesCpu, rand } from './parity.js';

/**
 * Loss and weight gradients of a small conv net that uses every replaced kernel family:
 * convolution with bias and ReLU (same, valid, stride 2), max and average pooling, batch
 * normalization with batch statistics, a dense layer, and a loss made of cross-entropy
 * (logSoftmax: max, exp, sum, log) plus a consistency-style KL term (softmax, mean).
 */
function lossAndGrads(): tf.Tensor[] {
  const x = rand([6, 12, 12, 3], 11, 0, 1) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0], 'int32'), 5);
  const params = {
    w1: rand([3, 3, 3, 8], 1, -0.3, 0.3),
    b1: rand([8], 2, -0.1, 0.1),
    w2: rand([3, 3, 8, 6], 3, -0.3, 0.3),
    b2: rand([6], 4, -0.1, 0.1),
    gamma: rand([6], 5, 0.5, 1.5),
    beta: rand([6], 6, -0.1, 0.1),
    w3: rand([2, 2, 6, 4], 7, -0.3, 0.3),
    dense: rand([16, 5], 8, -0.3, 0.3),
    denseBias: rand([5], 9, -0.1, 0.1),
  };
  const names = Object.keys(params) as (keyof typeof params)[];
  const loss = (...values: tf.Tensor[]): tf.Scalar => {
    const p = Object.fromEntries(names.map((n, i) => [n, values[i]!])) as typeof params;
    let h = tf.relu(tf.add(tf.conv2d(x, p.w1 as tf.Tensor4D, 1, 'same'), p.b1)) as tf.Tensor4D;
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.add(tf.conv2d(h, p.w2 as tf.Tensor4D, 1, 'valid'), p.b2) as tf.Tensor4D;
    const { mean, variance } = tf.moments(h, [0, 1, 2]);
    h = tf.relu(tf.batchNorm(h, mean, variance, p.beta, p.gamma, 1e-3)) as tf.Tensor4D;
    h = tf.conv2d(h, p.w3 as tf.Tensor4D, 2, 'same');
    h = tf.avgPool(h, 2, 1, 'same');
    const logits = tf.add(tf.matMul(tf.reshape(h, [6, 16]), p.dense), p.denseBias) as tf.Tensor2D;
    const logp = tf.logSoftmax(logits);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(labels, logp), 1)));
    const probs = tf.softmax(logits);
    const mean2 = tf.mean(tf.reshape(probs, [2, 3, 5]), 0);
    const kl = tf.mean(tf.sum(tf.mul(mean2, tf.sub(tf.log(mean2), tf.reshape(logp, [2, 3, 5]))), -1));
    return tf.add(ce, tf.mul(kl, 0.5)) as tf.Scalar;
  };
  const { value, grads } = tf.valueAndGrads(loss)(names.map((n) => params[n]));
  return [value, ...grads];
}

test(`gradient parity through a small conv net on ${ENGINE}`, () => assertMatchesCpu(lossAndGrads, { atol: 1e-5, rtol: 1e-3 }));

test('the wasm fallback has a correct Conv2DBackpropFilter (the kernel tfjs-wasm lacks)', async () => {
  type Shape4 = [number, number, number, number];
  const cases: [Shape4, Shape4, number | [number, number], 'same' | 'valid' | number][] = [
    [[2, 7, 6, 3], [3, 2, 3, 4], 2, 'same'],
    [[1, 5, 5, 1], [3, 3, 1, 2], 1, 'valid'],
    [[3, 9, 8, 2], [2, 3, 2, 5], [1, 2], 1],
  ];
  for (const [xShape, filterShape, strides, pad] of cases) {
    const outShape = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, strides, pad).shape);
    await assertMatchesCpu(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: rand(xShape, 1), dy: rand(outShape, 2) },
            { strides, pad, dataFormat: 'NHWC', filterShape },
          ) as tf.Tensor,
      { atol: 1e-4, rtol: 2e-4 },
      'wasm',
    );
  }
});

test('the wasm fallback routes max-pool gradients of negative windows (tfjs-wasm drops them)', () =>
  assertMatchesCpu(
    () => {
      const x = rand([2, 6, 6, 3], 1, -2, -1) as tf.Tensor4D;
      const y = tf.maxPool(x, 2, 2, 'valid');
      return tf
        .engine()
        .runKernel('MaxPoolGrad', { dy: rand(y.shape, 5), input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor;
    },
    undefined,
    'wasm',
  ));
