import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nativeClassifier } from '../../src/backend/native-classifier.js';
import { NativeBackend } from '../../src/backend/native-backend.js';
import { DATASETS } from '../../src/data/datasets.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { BF16_SKIP, toBf16 } from './bf16-rounding.js';
import { ENGINE, assertMatchesCpu, rand } from './parity.js';

// bf16 certification (native-backend.ts Precision): convolution inputs and filters rounded to
// bfloat16, products accumulated in float32. The reference is the CPU backend's float32
// convolution of inputs and filters rounded the same way (round to nearest even, as oneDNN's
// conversion), so the two agree to float32 accumulation error, not merely to bf16's 3 digits.

const skip = BF16_SKIP;

/**
 * fn(x, filter) on the engine in bf16, against fn on the CPU backend with x and filter rounded
 * to bf16 beforehand.
 */
function bf16MatchesRoundedCpu(fn: (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor | tf.Tensor[], x: tf.Tensor4D, filter: tf.Tensor4D) {
  return assertMatchesCpu(() => {
    const b = tf.backend();
    if (b instanceof NativeBackend) return b.withPrecision('bf16', () => fn(x, filter));
    return fn(toBf16(x) as tf.Tensor4D, toBf16(filter) as tf.Tensor4D);
  });
}

describe(`bf16 convolutions on ${ENGINE}`, () => {
  const x = () => rand([3, 7, 7, 4], 1) as tf.Tensor4D;
  const filter = () => rand([3, 3, 4, 6], 2) as tf.Tensor4D;
  test('Conv2D (a pending convolution) equals float32 arithmetic on bf16-rounded operands', { skip }, () =>
    bf16MatchesRoundedCpu((a, w) => tf.conv2d(a, w, 2, 'same'), x(), filter()),
  );
  test('a fused convolution with bias and ReLU (computed at once)', { skip }, () =>
    bf16MatchesRoundedCpu(
      (a, w) => tf.fused.conv2d({ x: a, filter: w, strides: 1, pad: 'valid', bias: rand([6], 3), activation: 'relu' }),
      x(),
      filter(),
    ),
  );
  test('conv + bias + residual → ReLU (the residual folded into the bf16 primitive)', { skip }, () =>
    bf16MatchesRoundedCpu(
      (a, w) => {
        const c = tf.fused.conv2d({ x: a, filter: w, strides: 1, pad: 'same', bias: rand([6], 4) });
        return tf.relu(tf.add(c, rand([3, 7, 7, 6], 5)));
      },
      x(),
      filter(),
    ),
  );

  test('a ResNet-20 classifier in bf16: close to fp32, not equal to it, and fp32 unchanged after it', { skip }, async () => {
    const data = DATASETS.cifar10;
    const model = ARCHITECTURES.cifar_resnet20.build({
      numClasses: 10,
      inputShape: data.shape,
      normalization: data.normalization,
      seed: 3,
    });
    const images = rand([8, 32, 32, 3], 6, 0, 1).dataSync() as Float32Array;
    const fp32 = await nativeClassifier(model).logits!(images, 8);
    const bf16 = await nativeClassifier(model, undefined, { precision: 'bf16' }).logits!(images, 8);
    const scale = Math.max(...fp32.map(Math.abs));
    const diff = Math.max(...fp32.map((v, i) => Math.abs(v - bf16[i]!)));
    assert.ok(diff > 0, 'bf16 logits differ from fp32 somewhere (bf16 ran)');
    // bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2 %) per operand, over 19 layers.
    assert.ok(diff < 0.03 * scale, `bf16 logits within 3 % of the logit scale: |difference| ${diff}, scale ${scale}`);
    assert.equal((tf.backend() as NativeBackend).precision, 'fp32', 'the backend is back at fp32');
    assert.deepEqual(await nativeClassifier(model).logits!(images, 8), fp32, 'fp32 logits are the same after a bf16 run');
    model.dispose();
  });
});

test('precision bf16 is refused off the native backend', {
  skip: ENGINE === 'native' && 'tested where the native backend is not active',
}, () => {
  const model = (t: tf.Tensor4D) => tf.sum(t, [1, 2]);
  assert.throws(
    () => nativeClassifier(model, { inputShape: [2, 2, 1], numClasses: 1 }, { precision: 'bf16' }),
    /precision bf16 needs the native backend/,
  );
});
