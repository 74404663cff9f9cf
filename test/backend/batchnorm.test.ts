import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_TRAIN_KERNEL } from '../../src/base/custom-kernels.js';
import { BatchNorm, batchNormTraining } from '../../src/models/batch-norm.js';
import { batchNorm, conv, relu, TorchInit } from '../../src/models/layers.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { DATASETS } from '../../src/data/datasets.js';
import type { NativeBackend } from '../../src/backend/native-backend.js';
import { ENGINE, ENGINE_TFJS, TOL, assertMatchesCpu, rand } from './parity.js';

// Batch normalization in training mode: on the native backend one custom kernel each way; on
// the tfjs CPU backend (the reference here, which lacks the kernels) tfjs's chain of ops.

/** The op's output and statistics, and the gradients of Σ y·w (w random, so dy is not uniform) for x, γ and β. */
function opValuesAndGrads(shape: number[], constant?: number): () => tf.Tensor[] {
  return () => {
    const channels = shape[shape.length - 1]!;
    const x = constant === undefined ? rand(shape, 1, -2, 3) : tf.fill(shape, constant);
    const gamma = rand([channels], 2, 0.5, 1.5) as tf.Tensor1D,
      beta = rand([channels], 3, -0.5, 0.5) as tf.Tensor1D;
    const w = rand(shape, 4);
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-5);
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTraining(a, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5).y, w)),
    )([x, gamma, beta]);
    return [y, mean, variance, value, ...grads];
  };
}

describe(`training-mode batch norm on ${ENGINE}`, () => {
  test('the native backend registers both custom kernels', { skip: ENGINE !== 'native' && 'native only' }, () => {
    assert.ok(tf.getKernel(BATCH_NORM_TRAIN_KERNEL, ENGINE_TFJS));
    assert.ok(tf.getKernel(BATCH_NORM_GRAD_KERNEL, ENGINE_TFJS));
  });

  // The float32 roundings differ (double sums in one pass against tfjs's op-by-op roundings) but stay within TOL.
  test('values, statistics and gradients (x, γ, β) of an NHWC batch', () => assertMatchesCpu(opValuesAndGrads([4, 6, 5, 3])));
  test('a batch of 1: statistics over H·W only', () => assertMatchesCpu(opValuesAndGrads([1, 5, 4, 8])));
  // With variance 0, dx = γ·(dy − mean dy)/√ε: terms of size 1/√ε ≈ 316 cancel, and tfjs's chain
  // leaves a rounding residue of that size's ulps where the fused kernel gets 0.
  const varianceZero = { atol: 1e-4, rtol: TOL.rtol };
  test('a batch of variance 0 (constant input): y = β, dx = γ·(dy − mean dy)/√ε', () =>
    assertMatchesCpu(opValuesAndGrads([3, 4, 5, 2], 0.3), varianceZero));
  test('a single value per channel (batch 1 of 1×1): variance 0 again', () =>
    assertMatchesCpu(opValuesAndGrads([1, 1, 1, 6]), varianceZero));
  test('rank 2 (features after a dense layer)', () => assertMatchesCpu(opValuesAndGrads([9, 7])));
  // A mean near 1000 is known to one float ulp (6e-5); divided by the standard deviation (~0.6) that is y's error.
  const largeMean = { atol: 2e-4, rtol: TOL.rtol };
  test(
    'large-mean channels (the variance from shifted sums, not E[x²] − E[x]² of the raw values)',
    { skip: ENGINE !== 'native' && "a test of the fused kernel: tfjs-wasm's own moments sum in float32" },
    () =>
      assertMatchesCpu(() => {
        const x = tf.add(rand([8, 6, 6, 4], 5), 1000);
        const { y, mean, variance } = batchNormTraining(x, tf.ones([4]), tf.zeros([4]), 1e-5);
        return [y, mean, variance];
      }, largeMean),
  );

  /** A conv–BN–ReLU–BN net through the layers the models use: loss, every weight's gradient, the moving statistics after the step. */
  function layerStep(): tf.Tensor[] {
    const input = tfl.input({ shape: [6, 6, 3] });
    const init = new TorchInit(3);
    let h = conv(input, { name: 'conv', filters: 5, kernel: 3, padding: 1, init: 'he' }, init);
    h = relu(batchNorm(h, 'bn1'), 'relu');
    h = batchNorm(tfl.layers.flatten().apply(h) as tfl.SymbolicTensor, 'bn2');
    const model = tfl.model({ inputs: input, outputs: h });
    const x = rand([4, 6, 6, 3], 6);
    const w = rand([4, 180], 7);
    const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, w)), variables);
    const moving = model.weights.filter((v) => !v.trainable).map((v) => v.read().clone());
    const out = [value, ...variables.map((v) => grads[v.name]!), ...moving];
    model.dispose();
    return out;
  }
  test("the models' layer: parameter gradients (tf.variableGrads) and moving averages", () => assertMatchesCpu(layerStep));

  test('steps leave no tensor or backend buffer behind', () => {
    const counts = [];
    for (let step = 0; step < 3; step++) {
      tf.dispose(tf.tidy(layerStep));
      counts.push([tf.memory().numTensors, tf.engine().backend.numDataIds()]);
    }
    assert.deepEqual(counts[2], counts[0]);
  });

  test(
    'batch norm → ReLU in one pass: the normalized values stay unwritten, the ReLU mask reads the rectified output',
    { skip: ENGINE !== 'native' && 'a fusion of the native backend' },
    () =>
      tf.tidy(() => {
        const backend = tf.backend() as NativeBackend;
        const x = rand([2, 3, 4, 5], 12);
        const [y] = tf
          .engine()
          .runKernel(BATCH_NORM_TRAIN_KERNEL, { x, scale: rand([5], 13), offset: rand([5], 14) }, { epsilon: 1e-5 }) as tf.Tensor[];
        const rectified = tf.relu(y!).dataSync();
        const mask = tf.step(y!).dataSync();
        assert.equal(backend.pendingRecipe(y!)?.kind, 'batchNorm', 'y is still pending');
        const values = y!.dataSync();
        assert.deepEqual(
          rectified,
          values.map((v) => Math.max(v, 0)),
        );
        assert.deepEqual(
          mask,
          values.map((v) => (v > 0 ? 1 : 0)),
        );
      }),
  );

  test(
    'batch norm + residual → ReLU in one pass, rounded as the separate Add and Relu',
    { skip: ENGINE !== 'native' && 'a fusion of the native backend' },
    () =>
      tf.tidy(() => {
        const backend = tf.backend() as NativeBackend;
        const x = rand([2, 3, 4, 5], 15);
        const residual = rand([2, 3, 4, 5], 16);
        const [y] = tf
          .engine()
          .runKernel(BATCH_NORM_TRAIN_KERNEL, { x, scale: rand([5], 17), offset: rand([5], 18) }, { epsilon: 1e-5 }) as tf.Tensor[];
        const sum = tf.add(residual, y!);
        const rectified = tf.relu(sum).dataSync();
        const mask = tf.step(sum).dataSync();
        assert.equal(backend.pendingRecipe(y!)?.kind, 'batchNorm', 'y is still pending');
        assert.equal(backend.pendingRecipe(sum)?.kind, 'batchNorm', 'so is the sum');
        const r = residual.dataSync();
        const sums = y!.dataSync().map((v, i) => Math.fround(v + r[i]!));
        assert.deepEqual(sum.dataSync(), sums);
        assert.deepEqual(
          rectified,
          sums.map((v) => Math.max(v, 0)),
        );
        assert.deepEqual(
          mask,
          sums.map((v) => (v > 0 ? 1 : 0)),
        );
      }),
  );
});

describe(`inference batch norm after a convolution on ${ENGINE}`, () => {
  // conv → BN (moving statistics) → + shortcut → ReLU, as a ResNet block runs at certification time;
  // on the native backend folded into one convolution (fusion.ts foldBatchNorm, foldResidual).
  const channels = 6;
  const bnParams = () => ({
    mean: rand([channels], 21, -0.5, 0.5) as tf.Tensor1D,
    variance: rand([channels], 22, 0.2, 2) as tf.Tensor1D,
    offset: rand([channels], 23, -0.5, 0.5) as tf.Tensor1D,
    scale: rand([channels], 24, 0.5, 1.5) as tf.Tensor1D,
  });
  const block = (bias: boolean) => () => {
    const x = rand([3, 7, 7, 4], 25) as tf.Tensor4D;
    const c = tf.fused.conv2d({
      x,
      filter: rand([3, 3, 4, channels], 26) as tf.Tensor4D,
      strides: 1,
      pad: 'same',
      ...(bias ? { bias: rand([channels], 27) } : {}),
    });
    const { mean, variance, offset, scale } = bnParams();
    const y = tf.batchNorm(c, mean, variance, offset, scale, 1e-3);
    const out = tf.relu(tf.add(y, rand([3, 7, 7, channels], 28)));
    return [out, tf.relu(y)];
  };
  test('conv → BN → + shortcut → ReLU, and conv → BN → ReLU, match the CPU backend', () => assertMatchesCpu(block(false)));
  test('the same with a convolution bias', () => assertMatchesCpu(block(true)));
  test('the convolution output read as well: unchanged by the fold', () =>
    assertMatchesCpu(() => {
      const c = tf.fused.conv2d({
        x: rand([2, 5, 5, 3], 29) as tf.Tensor4D,
        filter: rand([1, 1, 3, channels], 30) as tf.Tensor4D,
        strides: 1,
        pad: 'valid',
      });
      const { mean, variance, offset, scale } = bnParams();
      return [tf.batchNorm(c, mean, variance, offset, scale, 1e-3), c];
    }));
  test('the fold happens: BN, sum and ReLU inputs are one pending convolution; nothing is left behind', {
    skip: ENGINE !== 'native' && 'a fusion of the native backend',
  }, () => {
    const before = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
    tf.tidy(() => {
      const backend = tf.backend() as NativeBackend;
      const c = tf.fused.conv2d({
        x: rand([2, 5, 5, 3], 31) as tf.Tensor4D,
        filter: rand([3, 3, 3, channels], 32) as tf.Tensor4D,
        strides: 1,
        pad: 'same',
      });
      const { mean, variance, offset, scale } = bnParams();
      const y = tf.batchNorm(c, mean, variance, offset, scale, 1e-3);
      const sum = tf.add(y, rand([2, 5, 5, channels], 33));
      assert.equal(backend.pendingRecipe(y)?.kind, 'conv', 'the batch norm is a pending convolution');
      assert.equal(backend.pendingRecipe(sum)?.kind, 'conv', 'so is the sum');
      tf.relu(sum).dataSync();
    });
    assert.deepEqual([tf.memory().numTensors, tf.engine().backend.numDataIds()], before);
  });
  test('a ResNet-20 with trained-looking statistics: logits match the CPU backend', () => {
    const data = DATASETS.cifar10;
    const model = ARCHITECTURES.cifar_resnet20.build({
      numClasses: 10,
      inputShape: data.shape,
      normalization: data.normalization,
      seed: 3,
    });
    let seed = 100;
    const ranges = [
      [0.5, 1.5],
      [-0.5, 0.5],
      [-0.5, 0.5],
      [0.3, 2],
    ]; // gamma, beta, moving mean, moving variance
    const bns = model.layers.filter((l) => l instanceof BatchNorm);
    assert.ok(bns.length === 21, `ResNet-20 has 21 batch norms, found ${bns.length}`);
    for (const layer of bns) layer.setWeights(layer.getWeights().map((w, i) => rand(w.shape, seed++, ranges[i]![0], ranges[i]![1])));
    return assertMatchesCpu(() => model.apply(rand([4, 32, 32, 3], 40, 0, 1), { training: false }) as tf.Tensor, {
      atol: 1e-4,
      rtol: 1e-3,
    });
  });
});

describe('BatchNorm without the custom kernels', () => {
  /** Output, gradients and moving statistics of one training-mode application of a batch-norm layer. */
  function apply(layer: tfl.layers.Layer, x: tf.Tensor): Float32Array[] {
    const input = tfl.input({ shape: x.shape.slice(1) });
    const model = tfl.model({ inputs: input, outputs: layer.apply(input) as tfl.SymbolicTensor });
    const w = rand(x.shape, 9);
    const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, { training: true }) as tf.Tensor, w)), variables);
    const out = [value, ...variables.map((v) => grads[v.name]!), ...model.weights.map((v) => v.read())].map(
      (t) => t.dataSync() as Float32Array,
    );
    tf.dispose([value, w, ...Object.values(grads)]);
    model.dispose();
    return out;
  }

  test("computes exactly what tfjs-layers' BatchNormalization computes (the CPU backend, bit for bit)", async () => {
    await tf.setBackend('cpu');
    try {
      const args = () => ({
        axis: -1,
        momentum: 0.9,
        epsilon: 1e-5,
        gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 1 }),
        betaInitializer: tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 2 }),
      });
      const x = rand([3, 4, 5, 6], 8, -2, 3);
      const ours = apply(new BatchNorm(args()), x);
      const theirs = apply(tfl.layers.batchNormalization(args()), x);
      assert.equal(ours.length, theirs.length);
      ours.forEach((a, k) => assert.deepEqual(a, theirs[k], `output ${k}`));
      x.dispose();
    } finally {
      await tf.setBackend(ENGINE_TFJS);
    }
  });

  test('saved models load their BatchNormalization layers as BatchNorm, and the saved JSON is unchanged', async () => {
    const input = tfl.input({ shape: [4, 4, 2] });
    const model = tfl.model({ inputs: input, outputs: batchNorm(input, 'bn') });
    const json = model.toJSON(undefined, false) as unknown as { config: { layers: { class_name: string }[] } };
    assert.equal(json.config.layers[1]!.class_name, 'BatchNormalization');
    const loaded = await tfl.models.modelFromJSON({ modelTopology: json as unknown as tf.io.ModelJSON['modelTopology'] });
    assert.ok(loaded.getLayer('bn') instanceof BatchNorm);
    model.dispose();
    loaded.dispose();
  });
});

test(`a ResNet-20 training step: loss, gradients and BN statistics on ${ENGINE} match the CPU backend`, () =>
  assertMatchesCpu(() => {
    const data = DATASETS.cifar10;
    // 16×16 images (every layer as on CIFAR, the last stage 4×4) keep the CPU backend's share short.
    const shape: [number, number, number] = [16, 16, 3];
    const model = ARCHITECTURES.cifar_resnet20.build({
      numClasses: data.numClasses,
      inputShape: shape,
      normalization: data.normalization,
      seed: 5,
    });
    // Two noisy copies of two images, as a consistency step sees them.
    const images = rand([2, ...shape], 10, 0, 1);
    const x = tf.add(tf.concat([images, images]), tf.mul(rand([4, ...shape], 11), 0.25));
    const labels = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), data.numClasses);
    const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor),
      variables,
    );
    const moving = model.weights.filter((v) => !v.trainable).map((v) => v.read().clone());
    const out = [value, ...variables.map((v) => grads[v.name]!), ...moving];
    model.dispose();
    return out;
  }));
