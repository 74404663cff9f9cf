import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ARCHITECTURES, buildModel, type ModelDatasetInfo } from '../../src/models/registry.js';
import { Normalize } from '../../src/models/normalize.js';
import { UserError } from '../../src/base/errors.js';

const MNIST: ModelDatasetInfo = { name: 'mnist', shape: [28, 28, 1], numClasses: 10, normalization: { mean: [0], std: [1] } };
const CIFAR: ModelDatasetInfo = {
  name: 'cifar10',
  shape: [32, 32, 3],
  numClasses: 10,
  normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
};
const IMAGENET: ModelDatasetInfo = {
  name: 'imagenet',
  shape: [224, 224, 3],
  numClasses: 1000,
  normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

// Parameter counts of the PyTorch reference modules (trainable parameters; BN running
// statistics are buffers there), by formula from their definitions.
const convP = (cin: number, cout: number, k: number, bias = false) => cin * cout * k * k + (bias ? cout : 0);
const bnP = (c: number) => 2 * c;
const fcP = (cin: number, cout: number) => cin * cout + cout;

function lenetCount(k: number): number {
  return convP(1, 20, 5, true) + convP(20, 50, 5, true) + fcP(4 * 4 * 50, 500) + fcP(500, k);
}

function cifarResNetCount(depth: number, k: number): number {
  const n = (depth - 2) / 6;
  let total = convP(3, 16, 3) + bnP(16);
  let inPlanes = 16;
  for (const [planes, stride] of [
    [16, 1],
    [32, 2],
    [64, 2],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? stride : 1;
      total += convP(inPlanes, planes, 3) + bnP(planes) + convP(planes, planes, 3) + bnP(planes);
      if (s !== 1 || inPlanes !== planes) total += convP(inPlanes, planes, 1) + bnP(planes);
      inPlanes = planes;
    }
  }
  return total + fcP(64, k);
}

function densenet40Count(k: number): number {
  let c = 24;
  let total = convP(3, c, 3);
  for (let block = 0; block < 3; block++) {
    for (let i = 0; i < 6; i++) {
      total += bnP(c) + convP(c, 48, 1) + bnP(48) + convP(48, 12, 3);
      c += 12;
    }
  }
  return total + bnP(c) + fcP(c, k);
}

function resnet50Count(k: number): number {
  let total = convP(3, 64, 7) + bnP(64);
  let inPlanes = 64;
  for (const [planes, blocks] of [
    [64, 3],
    [128, 4],
    [256, 6],
    [512, 3],
  ] as const) {
    for (let i = 0; i < blocks; i++) {
      total +=
        convP(inPlanes, planes, 1) + bnP(planes) + convP(planes, planes, 3) + bnP(planes) + convP(planes, 4 * planes, 1) + bnP(4 * planes);
      if (i === 0) total += convP(inPlanes, 4 * planes, 1) + bnP(4 * planes);
      inPlanes = 4 * planes;
    }
  }
  return total + fcP(2048, k);
}

function trainableCount(model: tfl.LayersModel): number {
  return model.trainableWeights.reduce((s, w) => s + w.read().size, 0);
}

const cases: Array<[string, ModelDatasetInfo, number, number]> = [
  // [arch, dataset, count by formula, literal count]. CIFAR ResNets with Cohen's option-B
  // shortcuts; He et al. (Table 6) report 0.27M and 1.7M.
  ['lenet', MNIST, lenetCount(10), 431_080],
  ['cifar_resnet20', CIFAR, cifarResNetCount(20, 10), 272_474],
  ['cifar_resnet110', CIFAR, cifarResNetCount(110, 10), 1_730_714],
  ['cifar_densenet40', CIFAR, densenet40Count(10), 211_978],
  ['resnet50', IMAGENET, resnet50Count(1000), 25_557_032], // torchvision resnet50
];

for (const [arch, data, formula, literal] of cases) {
  test(`${arch}: ${literal} trainable parameters, logits [batch, ${data.numClasses}], Normalize first`, () => {
    assert.equal(formula, literal);
    const model = buildModel(arch, data, 1);
    assert.equal(trainableCount(model), literal);
    assert.deepEqual(model.inputs[0]!.shape, [null, ...data.shape]);
    assert.deepEqual(model.outputs[0]!.shape, [null, data.numClasses]);
    const first = model.layers[1]!;
    assert.ok(first instanceof Normalize);
    assert.deepEqual(first.mean, data.normalization.mean);
    model.dispose();
  });
}

test('lenet and cifar_resnet20 run on concrete batches, in inference and training mode', () => {
  for (const [arch, data] of [
    ['lenet', MNIST],
    ['cifar_resnet20', CIFAR],
  ] as const) {
    const model = buildModel(arch, data, 2);
    const x = tf.randomUniform([3, ...data.shape], 0, 1, 'float32', 1);
    for (const training of [false, true]) {
      const y = model.apply(x, { training }) as tf.Tensor;
      assert.deepEqual(y.shape, [3, 10]);
      assert.ok(y.dataSync().every(Number.isFinite));
      y.dispose();
    }
    x.dispose();
    model.dispose();
  }
});

test('layer names follow the reference state dict (option-B shortcuts only where the shape changes)', () => {
  const model = buildModel('cifar_resnet20', CIFAR);
  const names = new Set(model.layers.map((l) => l.name));
  for (const n of ['conv1', 'bn1', 'layer1.2.conv2', 'layer2.0.downsample.0', 'layer3.0.downsample.1', 'fc']) assert.ok(names.has(n), n);
  for (const n of ['layer1.0.downsample.0', 'layer2.1.downsample.0']) assert.ok(!names.has(n), n);
  model.dispose();
});

test('buildModel rejects unknown architectures and ones that do not fit the data', () => {
  assert.throws(
    () => buildModel('vgg16', CIFAR),
    (e: unknown) => e instanceof UserError && e.message.includes('vgg16') && Object.keys(ARCHITECTURES).every((n) => e.message.includes(n)),
  );
  assert.throws(
    () => buildModel('lenet', CIFAR),
    (e: unknown) => e instanceof UserError && /lenet.*28×28×1.*32×32×3/.test(e.message) && e.message.includes('cifar_resnet110'),
  );
  assert.throws(
    () => buildModel('cifar_resnet20', MNIST),
    (e: unknown) => e instanceof UserError && e.message.includes('lenet'),
  );
  assert.throws(() => buildModel('resnet50', MNIST), UserError);
  assert.throws(
    () => buildModel('cifar_densenet40', { ...CIFAR, normalization: { mean: [0], std: [1] } }),
    /one mean and one positive std per channel/,
  );
  assert.throws(() => buildModel('lenet', { ...MNIST, numClasses: 1 }), /at least 2 classes/);
});
