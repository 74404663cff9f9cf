import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NATIVE_KERNELS } from '../../src/backend/native.js';
import { NATIVE_BACKEND, type NativeBackend } from '../../src/backend/native-backend.js';
import { ENGINE, assertMatchesCpu, rand } from './parity.js';

// Kernel parity against the tfjs CPU backend on random inputs, for the engine under test
// (native by default; the wasm fallback when SMOOTHCERT_BACKEND=wasm).

type Pad = 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
type Shape4 = [number, number, number, number];
interface ConvCase {
  name: string;
  x: Shape4;
  w: Shape4;
  strides: number | [number, number];
  pad: Pad;
  dilations?: number;
  notOnWasm?: string;
}

const CONV_CASES: ConvCase[] = [
  { name: 'batch 1, valid, 1 input channel', x: [1, 5, 5, 1], w: [3, 3, 1, 2], strides: 1, pad: 'valid' },
  { name: 'same, stride 2, odd sizes', x: [2, 7, 6, 3], w: [3, 2, 3, 4], strides: 2, pad: 'same' },
  {
    name: 'explicit padding, strides [1, 2]',
    x: [3, 9, 8, 2],
    w: [2, 3, 2, 5],
    strides: [1, 2],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { name: 'numeric padding, stride 3', x: [2, 10, 11, 4], w: [3, 3, 4, 3], strides: 3, pad: 1 },
  // tfjs sizes numeric padding from the filter height and stride height only: oneDNN rejects
  // this geometry and the CPU kernel must take over.
  {
    name: 'numeric padding with unequal filter and strides',
    x: [3, 9, 8, 2],
    w: [2, 3, 2, 5],
    strides: [1, 2],
    pad: 1,
    notOnWasm: 'tfjs-wasm itself computes this inconsistent geometry differently from the CPU backend',
  },
  { name: 'same, dilation 2', x: [2, 9, 9, 2], w: [3, 3, 2, 3], strides: 1, pad: 'same', dilations: 2 },
  { name: 'LeNet conv2 shape', x: [3, 12, 12, 20], w: [5, 5, 20, 50], strides: 1, pad: 'valid' },
];

describe(`convolution kernels on ${ENGINE}`, () => {
  for (const c of CONV_CASES) {
    test(`Conv2D: ${c.name}`, { skip: ENGINE === 'wasm' && c.notOnWasm }, () =>
      assertMatchesCpu(() =>
        tf.conv2d(rand(c.x, 1) as tf.Tensor4D, rand(c.w, 2) as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations ?? 1),
      ),
    );

    const outShape = () =>
      tf.tidy(
        () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.w) as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations ?? 1).shape,
      );
    if (c.dilations === undefined) {
      test(`Conv2DBackpropInput: ${c.name}`, () =>
        assertMatchesCpu(
          () =>
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropInput',
                { dy: rand(outShape(), 3), filter: rand(c.w, 2) },
                { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
              ) as tf.Tensor,
        ));
      test(`Conv2DBackpropFilter: ${c.name}`, () =>
        assertMatchesCpu(
          () =>
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropFilter',
                { x: rand(c.x, 1), dy: rand(outShape(), 3) },
                { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.w },
              ) as tf.Tensor,
          { atol: 1e-4, rtol: 2e-4 },
        ));
    }
  }

  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu', 'prelu'] as const;
  for (const activation of activations) {
    test(`FusedConv2D with bias and ${activation}`, () =>
      assertMatchesCpu(() =>
        tf.fused.conv2d({
          x: rand([2, 7, 6, 3], 1, -4, 4) as tf.Tensor4D,
          filter: rand([3, 3, 3, 4], 2) as tf.Tensor4D,
          strides: 2,
          pad: 'same',
          bias: rand([4], 3),
          activation,
          leakyreluAlpha: 0.3,
          preluActivationWeights: activation === 'prelu' ? rand([4], 4) : undefined,
        }),
      ));
  }
  // PyTorch's padding of a strided convolution (models/layers.ts: ZeroPadding2D + 'valid'): on
  // the native backend the zeros become the convolution's own padding and are never written.
  const padded = () =>
    tf.pad(rand([2, 8, 7, 3], 1) as tf.Tensor4D, [
      [0, 0],
      [1, 2],
      [2, 1],
      [0, 0],
    ]);
  test('zero padding then a strided convolution, plain and fused, and the padded tensor read as well', () =>
    assertMatchesCpu(() => [
      tf.conv2d(padded(), rand([3, 3, 3, 4], 2) as tf.Tensor4D, 2, 'valid'),
      tf.fused.conv2d({
        x: padded(),
        filter: rand([3, 3, 3, 4], 2) as tf.Tensor4D,
        strides: [2, 1],
        pad: 'valid',
        bias: rand([4], 3),
        activation: 'relu',
      }),
      tf.relu(tf.add(tf.conv2d(padded(), rand([3, 3, 3, 4], 2) as tf.Tensor4D, 1, 'valid'), rand([4], 3))),
      padded(),
    ]));
  test('the padding folds: the convolution reads the unpadded tensor; nothing is left behind', {
    skip: ENGINE !== 'native' && 'a fusion of the native backend',
  }, () => {
    const before = [tf.memory().numTensors, tf.engine().backend.numDataIds()];
    tf.tidy(() => {
      const backend = tf.backend() as NativeBackend;
      const x = rand([2, 8, 7, 3], 1) as tf.Tensor4D;
      const p = tf.pad(x, [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]);
      const pad = backend.pendingRecipe(p);
      assert.ok(pad?.kind === 'pad' && pad.x.dataId === x.dataId && pad.pads.join() === '1,1,1,1', 'the padded tensor is pending');
      const c = tf.conv2d(p, rand([3, 3, 3, 4], 2) as tf.Tensor4D, 2, 'valid');
      const r = backend.pendingRecipe(c);
      assert.ok(r?.kind === 'conv' && r.x.dataId === x.dataId && r.params.join() === '2,2,1,1,1,1,1,1', 'the convolution pads x itself');
      c.dataSync();
    });
    assert.deepEqual([tf.memory().numTensors, tf.engine().backend.numDataIds()], before);
  });
  test('FusedConv2D with a scalar bias and no activation', { skip: ENGINE === 'wasm' && 'tfjs-wasm rejects scalar biases' }, () =>
    assertMatchesCpu(() =>
      tf.fused.conv2d({
        x: rand([1, 5, 5, 2], 1) as tf.Tensor4D,
        filter: rand([2, 2, 2, 3], 2) as tf.Tensor4D,
        strides: 1,
        pad: 'valid',
        bias: rand([1], 3),
      }),
    ),
  );
});

describe(`matrix multiplication on ${ENGINE}`, () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['plain', [3, 4], [4, 5], false, false],
    ['transpose a', [4, 3], [4, 5], true, false],
    ['transpose b', [3, 4], [5, 4], false, true],
    ['transpose both', [4, 3], [5, 4], true, true],
    ['batch 1 row', [1, 7], [7, 3], false, false],
    ['batched', [2, 3, 4], [2, 4, 5], false, false],
    ['broadcast b over batch', [2, 3, 4], [1, 4, 5], false, false],
    ['broadcast a over batch', [1, 3, 4], [3, 5, 4], false, true],
  ];
  for (const [name, a, b, ta, tb] of cases) {
    test(`BatchMatMul: ${name}`, () => assertMatchesCpu(() => tf.matMul(rand(a, 1), rand(b, 2), ta, tb)));
  }
  for (const activation of ['linear', 'relu', 'elu', 'sigmoid'] as const) {
    test(`_FusedMatMul with bias and ${activation}`, () =>
      assertMatchesCpu(() =>
        tf.fused.matMul({
          a: rand([5, 6], 1, -3, 3),
          b: rand([6, 4], 2),
          bias: rand([4], 3),
          activation,
          transposeA: false,
          transposeB: false,
        }),
      ));
  }
});

describe(`pooling kernels on ${ENGINE}`, () => {
  const cases: [string, number[], number, number, 'valid' | 'same'][] = [
    ['2×2, stride 2, valid', [2, 8, 8, 3], 2, 2, 'valid'],
    ['3×3, stride 2, same, odd size', [2, 7, 7, 3], 3, 2, 'same'],
    ['3×3, stride 1, same, batch 1', [1, 5, 6, 4], 3, 1, 'same'],
    ['2×2, stride 2, valid, odd size', [3, 7, 9, 2], 2, 2, 'valid'],
  ];
  for (const [name, shape, size, stride, pad] of cases) {
    test(`MaxPool: ${name}`, () => assertMatchesCpu(() => tf.maxPool(rand(shape, 1) as tf.Tensor4D, size, stride, pad)));
    test(`AvgPool: ${name}`, () => assertMatchesCpu(() => tf.avgPool(rand(shape, 1) as tf.Tensor4D, size, stride, pad)));
    test(`MaxPoolGrad: ${name}`, () =>
      assertMatchesCpu(() => {
        const x = rand(shape, 1) as tf.Tensor4D;
        const y = tf.maxPool(x, size, stride, pad);
        return tf
          .engine()
          .runKernel('MaxPoolGrad', { dy: rand(y.shape, 5), input: x, output: y }, { filterSize: size, strides: stride, pad }) as tf.Tensor;
      }));
    test(`AvgPoolGrad: ${name}`, () =>
      assertMatchesCpu(() => {
        const x = rand(shape, 1) as tf.Tensor4D;
        const y = tf.avgPool(x, size, stride, pad);
        return tf
          .engine()
          .runKernel('AvgPoolGrad', { dy: rand(y.shape, 5), input: x }, { filterSize: size, strides: stride, pad }) as tf.Tensor;
      }));
  }
});

describe(`batch normalization on ${ENGINE}`, () => {
  test('FusedBatchNorm per channel with offset and scale', () =>
    assertMatchesCpu(() => tf.batchNorm(rand([2, 3, 5, 4], 1), rand([4], 2), rand([4], 3, 0.1, 2), rand([4], 4), rand([4], 5), 1e-3)));
  test('FusedBatchNorm without offset and scale', () =>
    assertMatchesCpu(() => tf.batchNorm(rand([3, 7], 1), rand([7], 2), rand([7], 3, 0.1, 2), undefined, undefined, 1e-5)));
  test('FusedBatchNorm with a one-element scale (kernel level: the op insists on equal ranks)', () =>
    assertMatchesCpu(
      () =>
        tf
          .engine()
          .runKernel(
            'FusedBatchNorm',
            { x: rand([2, 2, 2, 3], 1), mean: rand([3], 2), variance: rand([3], 3, 0.1, 2), offset: rand([3], 4), scale: tf.tensor([1.5]) },
            { varianceEpsilon: 1e-3 },
          ) as tf.Tensor,
    ));
});

describe(`elementwise kernels on ${ENGINE}`, () => {
  const pairs: [number[], number[]][] = [
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
    [[2, 3, 4], [4]],
    [
      [2, 1, 4],
      [3, 1],
    ],
    [[5], []],
    [[], [2, 3]],
    [
      [2, 3, 1, 5],
      [1, 3, 4, 1],
    ],
    [[1], [1]],
  ];
  const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['Add', tf.add],
    ['Sub', tf.sub],
    ['Multiply', tf.mul],
    ['RealDiv', tf.div],
    ['Maximum', tf.maximum],
    ['Minimum', tf.minimum],
    ['SquaredDifference', tf.squaredDifference],
  ];
  for (const [name, op] of binary) {
    test(`${name} with broadcasting`, async () => {
      for (const [a, b] of pairs) await assertMatchesCpu(() => op(rand(a, 1), rand(b, 2, 0.5, 2)));
    });
  }
  test('float32 tensors cast from bool and int32 (the CPU backend shares their integer arrays)', async () => {
    const mask = () => tf.cast(tf.greater(rand([4, 6], 1), 0), 'float32');
    await assertMatchesCpu(() => tf.mul(rand([4, 6], 2), mask()));
    await assertMatchesCpu(() => tf.matMul(tf.cast(tf.oneHot(tf.tensor1d([0, 2, 1], 'int32'), 4), 'float32'), rand([4, 5], 3)));
    await assertMatchesCpu(() => tf.sum(mask(), 0));
    await assertMatchesCpu(() => tf.slice(tf.reshape(mask(), [4, 3, 2]), [1, 1, 0], [2, 2, 2]));
    await assertMatchesCpu(() => tf.tile(tf.cast(tf.tensor([1, 0, 1], [3], 'bool'), 'int32'), [2]));
  });
  test('Add of int32 tensors (runs the CPU kernel)', () =>
    assertMatchesCpu(() => tf.add(tf.tensor([1, 2, 3], [3], 'int32'), tf.scalar(4, 'int32'))));

  const unary: [string, (x: tf.Tensor) => tf.Tensor, number, number][] = [
    ['Relu', tf.relu, -1, 1],
    ['Relu6', tf.relu6, -3, 9],
    ['Step', (x) => tf.step(x, 0.25), -1, 1],
    ['Exp', tf.exp, -5, 5],
    ['Log', tf.log, 0.01, 10],
    ['Neg', tf.neg, -1, 1],
    ['Sqrt', tf.sqrt, 0, 10],
    ['Rsqrt', tf.rsqrt, 0.01, 10],
    ['Square', tf.square, -3, 3],
    ['Abs', tf.abs, -1, 1],
    ['Sigmoid', tf.sigmoid, -8, 8],
    ['Tanh', tf.tanh, -4, 4],
    ['Reciprocal', tf.reciprocal, 0.1, 3],
    ['LeakyRelu', (x) => tf.leakyRelu(x, 0.1), -1, 1],
    ['Elu', tf.elu, -3, 3],
  ];
  for (const [name, op, lo, hi] of unary) {
    test(name, () => assertMatchesCpu(() => op(rand([3, 5, 7], 1, lo, hi)), { atol: 1e-6, rtol: 1e-5 }));
  }
  test("Multiply by a Step mask (ReLU's gradient, fused on native) with NaN and alpha", async () => {
    const withNaN = () => tf.concat([rand([2, 7], 1), tf.fill([1, 7], NaN)]);
    await assertMatchesCpu(() => tf.mul(rand([3, 7], 2), tf.step(withNaN())));
    await assertMatchesCpu(() => tf.mul(tf.step(withNaN(), 0.25), rand([3, 7], 2)));
    // A broadcast product and a mask that is also read directly take the unfused path.
    await assertMatchesCpu(() => tf.mul(rand([2, 3, 7], 2), tf.step(withNaN())));
    await assertMatchesCpu(() => {
      const m = tf.step(withNaN());
      return [tf.mul(rand([3, 7], 2), m), m];
    });
  });
  test('AddN', () => assertMatchesCpu(() => tf.addN([rand([3, 4], 1), rand([3, 4], 2), rand([3, 4], 3)])));
  test('Tile', async () => {
    await assertMatchesCpu(() => tf.tile(rand([1, 1, 1, 4], 1), [2, 3, 3, 1]));
    await assertMatchesCpu(() => tf.tile(rand([2, 3], 1), [3, 2]));
    await assertMatchesCpu(() => tf.tile(rand([5], 1), [1]));
  });
  test("Concat along each axis, of int32 tensors, and DenseNet's channel concatenation with its gradient", async () => {
    await assertMatchesCpu(() => tf.concat([rand([2, 4, 4, 3], 1), rand([2, 4, 4, 5], 2), rand([2, 4, 4, 1], 3)], 3));
    await assertMatchesCpu(() => tf.concat([rand([1, 3, 2], 1), rand([2, 3, 2], 2)], 0));
    await assertMatchesCpu(() => tf.concat([rand([2, 3, 2], 1), rand([2, 1, 2], 2)], -2));
    await assertMatchesCpu(() => tf.concat([tf.tensor([[1, 2]], [1, 2], 'int32'), tf.tensor([[3], [4]].flat(), [1, 2], 'int32')], 1));
    // tf.concat's gradient is SplitV of dy into the inputs' channel counts.
    await assertMatchesCpu(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, b], 3), rand([2, 3, 3, 7], 3))))([
        rand([2, 3, 3, 4], 1),
        rand([2, 3, 3, 3], 2),
      ]),
    );
  });
  test('SplitV: sizes with -1, an even split, the first axis, int32', async () => {
    await assertMatchesCpu(() => tf.split(rand([2, 3, 3, 7], 1), [2, -1, 1], 3));
    await assertMatchesCpu(() => tf.split(rand([4, 6], 2), 3, 1));
    await assertMatchesCpu(() => tf.split(rand([4, 6], 2), [3, 1], 0));
    await assertMatchesCpu(() => tf.split(tf.reshape(tf.range(0, 12, 1, 'int32'), [3, 4]), 2, -1));
  });
  test('PadV2 and Slice: asymmetric pads, a non-zero constant, batch 1', async () => {
    await assertMatchesCpu(() =>
      tf.pad(
        rand([1, 5, 7, 3], 1),
        [
          [0, 0],
          [1, 2],
          [3, 0],
          [0, 1],
        ],
        0.5,
      ),
    );
    await assertMatchesCpu(() =>
      tf.pad(rand([2, 4, 4, 2], 2), [
        [0, 0],
        [1, 1],
        [1, 1],
        [0, 0],
      ]),
    );
    await assertMatchesCpu(() =>
      tf.pad(
        rand([3, 2], 3),
        [
          [2, 0],
          [0, 3],
        ],
        -1,
      ),
    );
    await assertMatchesCpu(() => tf.slice(rand([2, 6, 5, 3], 4), [1, 1, 0, 1], [1, 4, 5, 2]));
  });
});

describe(`reductions and softmax on ${ENGINE}`, () => {
  const reductions: [string, (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor][] = [
    ['Sum', tf.sum],
    ['Mean', tf.mean],
    ['Max', tf.max],
    ['Min', tf.min],
    ['Prod', tf.prod],
  ];
  const axes: [number | number[] | undefined, boolean][] = [
    [undefined, false],
    [[0, 1, 2], false],
    [-1, false],
    [[1, 2], true],
    [0, true],
  ];
  for (const [name, op] of reductions) {
    test(`${name} over axis blocks`, async () => {
      for (const [axis, keepDims] of axes)
        await assertMatchesCpu(() => op(rand([3, 4, 5, 6], 1, 0.5, 1.5), axis, keepDims), { atol: 1e-5, rtol: 1e-4 });
    });
  }
  test('Sum over non-adjacent axes (runs the CPU kernel)', () => assertMatchesCpu(() => tf.sum(rand([3, 4, 5], 1), [0, 2])));
  test('ArgMax', async () => {
    for (const axis of [0, 1, -1]) await assertMatchesCpu(() => tf.argMax(rand([4, 7, 5], 1), axis));
  });
  test('Softmax and logSoftmax along the last axis', async () => {
    await assertMatchesCpu(() => tf.softmax(rand([6, 10], 1, -10, 10)), { atol: 1e-6, rtol: 1e-5 });
    await assertMatchesCpu(() => tf.logSoftmax(rand([6, 10], 1, -10, 10)), { atol: 1e-5, rtol: 1e-5 });
  });
});

test('the native backend registers every native kernel and inherits the rest from the CPU backend', {
  skip: ENGINE !== 'native' && 'native backend not under test',
}, () => {
  for (const config of NATIVE_KERNELS) assert.equal(tf.getKernel(config.kernelName, NATIVE_BACKEND), config, config.kernelName);
  const cpuNames = tf.getKernelsForBackend('cpu').map((k) => k.kernelName);
  const nativeNames = new Set(tf.getKernelsForBackend(NATIVE_BACKEND).map((k) => k.kernelName));
  assert.deepEqual(
    cpuNames.filter((name) => !nativeNames.has(name)),
    [],
  );
});
