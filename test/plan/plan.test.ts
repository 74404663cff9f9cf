import * as tfl from '@tensorflow/tfjs-layers';
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../src/backend/addon.js';
import { initBackend } from '../../src/backend/select.js';
import type { ImageShape } from '../../src/base/shapes.js';
import { DATASETS } from '../../src/data/datasets.js';
import { loadClassifier } from '../../src/loaders/classifier.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { fillGaussian, SUBSTREAM } from '../../src/noise/gaussian.js';
import { exportOnnx } from '../../src/onnx/export.js';
import { planFromModel, UnsupportedGraphError } from '../../src/plan/build.js';
import type { PlanClassifier } from '../../src/plan/classifier.js';
import { argmaxWithGap, assertClose, randomImages, randomizeWeights, tempDir, tfjsLogits, writeTemp } from '../onnx/helpers.js';

// The native inference plan (native/plan.cc, src/plan/) against the tfjs model it was compiled
// from, and an ONNX graph exported by PyTorch against onnxruntime.
const engine = await initBackend();
const addon = loadAddon().addon;
const skip = engine !== 'native' || !addon ? 'the plan runs on the native backend only' : false;
/** float32 tolerance relative to the logits' scale, as for the ONNX export (test/onnx/helpers.ts assertClose). */
const TOL = 1e-4;
const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));

function build(arch: keyof typeof ARCHITECTURES, shape: ImageShape, dataset: keyof typeof DATASETS, seed: number): tfl.LayersModel {
  const model = ARCHITECTURES[arch].build({ numClasses: 10, inputShape: shape, normalization: DATASETS[dataset].normalization, seed });
  // Batch norm with statistics far from (0, 1), so that a wrong fold cannot hide.
  randomizeWeights(model, seed);
  return model;
}

/**
 * The plan's labels of noisy samples against the tfjs model's logits on the same noise: equal,
 * except where the model's two top logits tie within float32 tolerance.
 */
async function sameLabels(model: tfl.LayersModel, plan: PlanClassifier, x: Float32Array, sigma: number, n: number): Promise<void> {
  const key = { seed: 5, stream: 2, substream: SUBSTREAM.estimate };
  const d = x.length;
  const noisy = new Float32Array(n * d);
  fillGaussian(noisy, key, 0, sigma);
  for (let i = 0; i < noisy.length; i++) noisy[i]! += x[i % d]!;
  const ref = argmaxWithGap(tfjsLogits(model, noisy, n), plan.numClasses);
  const labels = new Int32Array(n);
  await plan.labelsNoisy!(x, sigma, key, 0, n, labels);
  ref.labels.forEach((label, j) => {
    if (labels[j] !== label) assert.ok(ref.gaps[j]! <= TOL * 10, `sample ${j}: ${labels[j]} vs ${label} with logit gap ${ref.gaps[j]}`);
  });
  // countNoisy tallies the same labels.
  const counts = new Float64Array(plan.numClasses);
  await plan.countNoisy!(x, sigma, key, 0, n, n, counts);
  const tally = new Float64Array(plan.numClasses);
  for (const l of labels) tally[l]!++;
  assert.deepEqual(counts, tally);
}

describe('the native plan of each architecture gives the logits of its tfjs model', { skip }, () => {
  const cases: [keyof typeof ARCHITECTURES, ImageShape, keyof typeof DATASETS][] = [
    ['lenet', [28, 28, 1], 'mnist'],
    ['cifar_resnet20', [32, 32, 3], 'cifar10'],
    ['cifar_densenet40', [32, 32, 3], 'cifar10'],
    // Pad + strided conv, Pad + max pool after a ReLU, bottlenecks with 1×1 shortcuts.
    ['resnet50', [64, 64, 3], 'imagenet'],
  ];
  for (const [arch, shape, dataset] of cases) {
    test(`${arch}: clean logits, and the labels of noisy samples`, async () => {
      const model = build(arch, shape, dataset, 7);
      const plan = planFromModel(model, { batch: 4 });
      assert.deepEqual(plan.inputShape, shape);
      const images = randomImages(6, shape, 3);
      // 6 images through batches of 4: the second call is part empty.
      assertClose(await plan.logits!(images, 6), tfjsLogits(model, images, 6), TOL, `${arch} logits`);
      if (arch !== 'resnet50') await sameLabels(model, plan, images.subarray(0, shape[0] * shape[1] * shape[2]), 0.25, 24);
      // Batch norms folded into the convolutions before them; DenseNet's pre-activation ones (BN → ReLU → conv) stand alone.
      const steps = plan.info().steps.map((s) => s.kind);
      assert.equal(steps.filter((k) => k === 'batchnorm').length, arch === 'cifar_densenet40' ? 19 : 0);
    });
  }
});

test('counts do not depend on where batches start: every sample meets the same primitives', { skip }, async () => {
  const model = build('cifar_resnet20', [32, 32, 3], 'cifar10', 2);
  const plan = planFromModel(model, { batch: 16 });
  const x = randomImages(1, [32, 32, 3], 9);
  const key = { seed: 1, stream: 3, substream: SUBSTREAM.estimate };
  const whole = new Int32Array(50);
  await plan.labelsNoisy!(x, 0.5, key, 0, 50, whole);
  const parts = new Int32Array(50);
  for (const [from, to] of [
    [0, 7],
    [7, 30],
    [30, 50],
  ] as const) {
    const part = new Int32Array(to - from);
    await plan.labelsNoisy!(x, 0.5, key, from, to - from, part);
    parts.set(part, from);
  }
  assert.deepEqual(parts, whole);
});

test('bf16: convolutions run bf16 kernels, activations stay bf16 between them', { skip }, async (t) => {
  if (!addon!.info().bf16) return t.skip('this CPU lacks AVX512-BF16');
  const model = build('cifar_resnet20', [32, 32, 3], 'cifar10', 4);
  const plan = planFromModel(model, { precision: 'bf16', batch: 8 });
  const info = plan.info();
  assert.equal(info.bf16, true);
  const convs = info.steps.filter((s) => s.kind === 'conv');
  assert.equal(convs.length, 21);
  // No reorder between layers: the only ones bring the float32 input in and the logits out.
  assert.ok(info.steps.filter((s) => s.kind === 'reorder').length <= 2, JSON.stringify(info.steps));
  // bf16 logits stay near the float32 ones: 8-bit operands, float32 sums (a loose sanity bound, not a rounding analysis).
  const images = randomImages(4, [32, 32, 3], 1);
  const fp32 = planFromModel(model, { batch: 8 });
  assertClose(await plan.logits!(images, 4), await fp32.logits!(images, 4), 0.1, 'bf16 vs fp32 logits');
});

test('an op the plan lacks: UnsupportedGraphError names it; auto runs the .onnx on onnxruntime, saying so in one line', {
  skip,
}, async () => {
  const input = tfl.input({ shape: [8, 8, 2] });
  const h = tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'tanh' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4 }).apply(tfl.layers.flatten().apply(h)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name: 'with_tanh' });
  assert.throws(
    () => planFromModel(model),
    (e: unknown) => e instanceof UnsupportedGraphError && /op Tanh \(node /.test(e.message),
  );
  const path = writeTemp(dir, 'tanh.onnx', exportOnnx(model));
  const notes: string[] = [];
  const auto = await loadClassifier(path, [8, 8, 2], undefined, { inputLayout: 'nhwc', notify: (m) => notes.push(m) });
  assert.equal((auto.base as Partial<PlanClassifier>).engine, undefined);
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /tanh\.onnx: the native plan does not run op Tanh \(node .*\); it runs on onnxruntime$/);
  await assert.rejects(loadClassifier(path, [8, 8, 2], undefined, { inputLayout: 'nhwc', engine: 'plan' }), /does not run op Tanh/);
});

test('the PyTorch fixture (NCHW, normalized outside the graph) runs on the plan by default, as onnxruntime runs it', { skip }, async () => {
  const fixture = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
  const record = JSON.parse(readFileSync(fixture.replace(/\.onnx$/, '.json'), 'utf8')) as {
    mean: number[];
    std: number[];
    images: { pixels_base64: string; logits: number[]; prediction: number }[];
  };
  const options = { inputLayout: 'nchw' as const, mean: record.mean, std: record.std };
  const plan = (await loadClassifier(fixture, [28, 28, 1], 'fashion-mnist', options)).base as PlanClassifier;
  const ort = (await loadClassifier(fixture, [28, 28, 1], 'fashion-mnist', { ...options, engine: 'onnxruntime' })).base;
  assert.equal(plan.engine, 'plan');
  const n = record.images.length;
  const images = new Float32Array(n * 784);
  record.images.forEach((r, i) =>
    images.set(
      Float32Array.from(Buffer.from(r.pixels_base64, 'base64'), (p) => p / 255),
      i * 784,
    ),
  );
  assertClose(await plan.logits!(images, n), await ort.logits!(images, n), TOL, 'plan vs onnxruntime');
  assert.deepEqual(
    Array.from(await plan.classify(images, n)),
    record.images.map((r) => r.prediction),
  );
  ort.dispose?.();
});

/**
 * A graph in PyTorch's idiom, written by hand: NCHW input, Conv with bias, standalone
 * BatchNormalization and Relu after a Concat, a Pad before an AveragePool that counts it,
 * MaxPool with its own padding after a ReLU, and `x.view(x.size(0), -1)` (Shape, Gather,
 * Unsqueeze, Concat, Reshape) before a Gemm with transB: the compiler's paths that smoothcert's
 * own exports never take, against onnxruntime on the same graph.
 */
test('a hand-written PyTorch-style graph: shape arithmetic, Gemm, standalone batch norm, pads', { skip }, async () => {
  const { GraphBuilder, attr } = await import('../../src/onnx/graph.js');
  const { DataType } = await import('../../src/onnx/proto/model.js');
  const u = (n: number, seed: number) => Float32Array.from(randomImages(1, [n, 1, 1], seed), (v) => 2 * v - 1);
  const g = new GraphBuilder('pytorch_style');
  const x = g.input('input', DataType.FLOAT, ['batch', 3, 9, 9]);
  const a = g.node(
    'Conv',
    [x, g.floatConst('w1', [4, 3, 3, 3], u(108, 1)), g.floatConst('b1', [4], u(4, 2))],
    [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])],
  );
  const b = g.node('Conv', [x, g.floatConst('w2', [2, 3, 1, 1], u(6, 3))], [attr.ints('kernel_shape', [1, 1])]);
  const cat = g.node('Concat', [a, b], [attr.int('axis', 1)]);
  const stats = (seed: number, lo: number) =>
    g.floatConst(
      `s${seed}`,
      [6],
      Float32Array.from(u(6, seed), (v) => lo + Math.abs(v)),
    );
  const bn = g.node(
    'BatchNormalization',
    [cat, stats(4, 0.5), stats(5, -0.2), stats(6, -0.1), stats(7, 0.5)],
    [attr.float('epsilon', 1e-5)],
  );
  const r = g.node('Relu', [bn]);
  const mp = g.node('MaxPool', [r], [attr.ints('kernel_shape', [3, 3]), attr.ints('strides', [2, 2]), attr.ints('pads', [1, 1, 1, 1])]);
  const padded = g.node('Pad', [mp, g.int64Const('pads', [8], [0, 0, 1, 0, 0, 0, 0, 1])]);
  const ap = g.node(
    'AveragePool',
    [padded],
    [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2]), attr.int('count_include_pad', 1)],
  );
  const shape = g.node('Shape', [ap]);
  const n = g.node('Gather', [shape, g.int64Const('zero', [], [0])], [attr.int('axis', 0)]);
  const n1 = g.node('Unsqueeze', [n, g.int64Const('axes', [1], [0])]);
  const target = g.node('Concat', [n1, g.int64Const('minus1', [1], [-1])], [attr.int('axis', 0)]);
  const flat = g.node('Reshape', [ap, target]);
  const logits = g.node(
    'Gemm',
    [flat, g.floatConst('fc', [5, 6 * 3 * 3], u(270, 8)), g.floatConst('fcb', [5], u(5, 9))],
    [attr.int('transB', 1)],
  );
  g.output(logits, 'logits', DataType.FLOAT, ['batch', 5]);
  const path = writeTemp(dir, 'pytorch-style.onnx', g.encode());
  const shape9: ImageShape = [9, 9, 3];
  const plan = (await loadClassifier(path, shape9, undefined, { inputLayout: 'nchw', engine: 'plan' })).base as PlanClassifier;
  const ort = (await loadClassifier(path, shape9, undefined, { inputLayout: 'nchw', engine: 'onnxruntime' })).base;
  assert.equal(plan.engine, 'plan');
  const images = randomImages(5, shape9, 4);
  assertClose(await plan.logits!(images, 5), await ort.logits!(images, 5), TOL, 'plan vs onnxruntime');
  ort.dispose?.();
});

test('a model folder with a layer the plan lacks runs layer by layer under auto, saying so; --engine plan refuses it', {
  skip,
}, async () => {
  const { saveModel } = await import('../../src/files/model-folder.js');
  const input = tfl.input({ shape: [6, 6, 1] });
  const h = tfl.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'tanh' }).apply(input) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(tfl.layers.flatten().apply(h)) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  const folder = `${dir}/tanh-folder`;
  await saveModel(folder, model, {
    format: 'smoothcert-model',
    version: 1,
    arch: 'custom',
    dataset: 'test',
    inputShape: [6, 6, 1],
    numClasses: 3,
    normalization: { mean: [0], std: [1] },
  });
  const notes: string[] = [];
  const auto = await loadClassifier(folder, [6, 6, 1], undefined, { notify: (m) => notes.push(m) });
  assert.equal((auto.base as Partial<PlanClassifier>).engine, undefined);
  assert.deepEqual(notes.length, 1);
  assert.match(notes[0]!, /the native plan does not run op Tanh .*; it runs on tfjs$/);
  const images = randomImages(2, [6, 6, 1], 1);
  assertClose(await auto.base.logits!(images, 2), tfjsLogits(model, images, 2), TOL, 'layer by layer');
  await assert.rejects(loadClassifier(folder, [6, 6, 1], undefined, { engine: 'plan' }), /does not run op Tanh/);
});
