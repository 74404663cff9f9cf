import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NativeBackend } from '../../src/backend/native-backend.js';
import { BF16_SKIP, toBf16 } from './bf16-rounding.js';
import { ENGINE, ENGINE_TFJS, rand } from './parity.js';

// bf16 training's kernels (native-backend.ts Precision): the two gradients of a convolution and
// the matrix products of inner products (forward and both gradients), their operands rounded to
// bfloat16, float32 accumulation and output. Each is compared with the CPU backend's float32
// kernel on the same operands rounded to bfloat16 beforehand (round to nearest even, as oneDNN's
// conversion): the products are then exact in float32 on both sides and the two differ only by
// the order of their float32 sums. A sum of K terms in any order is within γ_K·Σ|term| of the
// exact sum (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1; γ_K =
// K·u/(1 − K·u), u = 2⁻²⁴), so each output may differ by 2·γ_K·Σ|term|, where Σ|term| is the
// same kernel applied to the operands' absolute values. A kernel that skipped the rounding
// misses by up to 2⁻⁹ of each term; one that dropped a term, by that term.

const skip = BF16_SKIP;

/** fn's float32 values on the CPU backend. */
async function onCpu(fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend('cpu');
  try {
    return tf.tidy(fn).dataSync() as Float32Array;
  } finally {
    await tf.setBackend(ENGINE_TFJS);
  }
}

/**
 * kernel(...operands) on the native backend in bf16 against the CPU backend's float32 kernel on
 * the rounded operands, within 2·γ_K·Σ|term| per output (the header); `terms` is K. Also checks
 * that bf16 ran: some output differs from float32 arithmetic on the unrounded operands.
 */
async function assertBf16Kernel(kernel: (...ops: tf.Tensor[]) => tf.Tensor, operands: tf.Tensor[], terms: number): Promise<void> {
  const native = tf.backend() as NativeBackend;
  const got = tf.tidy(() => native.withPrecision('bf16', () => kernel(...operands))).dataSync() as Float32Array;
  const fp32 = tf.tidy(() => kernel(...operands)).dataSync() as Float32Array;
  const rounded = operands.map(toBf16);
  const want = await onCpu(() => kernel(...rounded));
  const sums = await onCpu(() => kernel(...rounded.map((t) => tf.abs(t))));
  tf.dispose(rounded);
  const u = 2 ** -24;
  const gamma = (terms * u) / (1 - terms * u);
  assert.equal(got.length, want.length, 'number of outputs');
  let differsFromFp32 = false;
  for (let i = 0; i < want.length; i++) {
    const bound = 2 * gamma * sums[i]!;
    const err = Math.abs(got[i]! - want[i]!);
    assert.ok(err <= bound, `output ${i} of ${want.length}: expected ${want[i]}, got ${got[i]} (|error| ${err} > ${bound})`);
    if (got[i] !== fp32[i]) differsFromFp32 = true;
  }
  assert.ok(differsFromFp32, 'the bf16 kernel differs from float32 arithmetic somewhere (the operands were rounded)');
}

describe(`bf16 training kernels on ${ENGINE}`, () => {
  // 5 images of 9×9×6 under a 3×3×6→8 filter; odd sizes cross oneDNN's channel blocks.
  const [n, h, w, ci, co] = [5, 9, 9, 6, 8];
  for (const [strides, pad] of [
    [1, 'same'],
    [2, 'valid'],
    [2, 'same'],
  ] as const) {
    test(`a convolution's input gradient (stride ${strides}, ${pad})`, { skip }, async () => {
      const x = tf.zeros([n, h, w, ci]) as tf.Tensor4D;
      const filter = rand([3, 3, ci, co], 11);
      const outShape = tf.conv2d(x, filter as tf.Tensor4D, strides, pad).shape;
      const dy = rand(outShape, 12);
      await assertBf16Kernel(
        (g, f) => tf.conv2dTranspose(g as tf.Tensor4D, f as tf.Tensor4D, [n, h, w, ci], strides, pad),
        [dy, filter],
        3 * 3 * co,
      );
      tf.dispose([x, filter, dy]);
    });
    test(`a convolution's filter gradient (stride ${strides}, ${pad})`, { skip }, async () => {
      const x = rand([n, h, w, ci], 13);
      const outShape = tf.conv2d(x as tf.Tensor4D, tf.zeros([3, 3, ci, co]) as tf.Tensor4D, strides, pad).shape;
      const dy = rand(outShape, 14);
      const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: [3, 3, ci, co] };
      await assertBf16Kernel(
        (a, g) => tf.engine().runKernel('Conv2DBackpropFilter', { x: a!, dy: g! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor,
        [x, dy],
        n * outShape[1]! * outShape[2]!,
      );
      tf.dispose([x, dy]);
    });
  }

  // An inner product's forward (x·W), input gradient (dy·Wᵀ) and weight gradient (xᵀ·dy), and a
  // batch of 1 broadcast against a batch of 3.
  for (const [name, aShape, bShape, ta, tb, k] of [
    ['x·W', [37, 50], [50, 10], false, false, 50],
    ['dy·Wᵀ', [37, 10], [50, 10], false, true, 10],
    ['xᵀ·dy', [37, 50], [37, 10], true, false, 37],
    ['xᵀ·dyᵀ', [37, 50], [10, 37], true, true, 37],
    ['a batch of 1 against 3', [1, 20, 30], [3, 30, 7], false, false, 30],
  ] as const) {
    test(`a matrix product in bf16: ${name}`, { skip }, () =>
      assertBf16Kernel((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb), [rand([...aShape], 15), rand([...bShape], 16)], k),
    );
  }

  test('a fused inner product (bias, ReLU) in bf16: the bias is added in float32', { skip }, () => {
    // A nonnegative bias, unrounded on both sides: on absolute operands the kernel gives Σ|term| + bias.
    const bias = rand([10], 19, 0, 1);
    return assertBf16Kernel(
      (a, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias, activation: 'relu' }),
      [rand([37, 50], 17), rand([50, 10], 18)],
      51,
    );
  });
});

test('a bf16 rounding is made once per tensor and lives as long as the tensor', { skip }, () => {
  const native = tf.backend() as NativeBackend;
  const before = native.roundedTensors;
  const x = rand([2, 6, 6, 3], 21) as tf.Tensor4D;
  const filter = rand([3, 3, 3, 4], 22) as tf.Tensor4D;
  const [dx, dw] = native.withPrecision('bf16', () =>
    tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'))))([x, filter]),
  );
  dx!.dataSync();
  // x (read by the convolution and its filter gradient) and the output gradient (read by both gradients).
  assert.ok(native.roundedTensors >= before + 1, 'the forward input is kept in bf16 while it lives');
  tf.dispose([x, filter, dx!, dw!]);
  assert.equal(native.roundedTensors, before, 'every rounding went with its tensor');
});
