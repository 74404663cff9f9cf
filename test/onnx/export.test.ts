import { after, test } from 'node:test';
import { rmSync } from 'node:fs';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { fashionMnistSampleDir, loadDataset, MNIST_FILES } from '../../src/loaders/registry.js';
import { initBackend } from '../../src/backend/select.js';
import { trainingData } from '../../src/training/batches.js';
import { createMethod } from '../../src/training/methods.js';
import { Trainer } from '../../src/training/trainer.js';
import { readIdxImageSet } from '../../src/loaders/idx.js';
import { UserError } from '../../src/base/errors.js';
import { Normalize } from '../../src/models/normalize.js';
import { ARCHITECTURES } from '../../src/models/registry.js';
import { loadOnnxClassifier, type OnnxClassifier } from '../../src/onnx/classifier.js';
import { exportOnnx } from '../../src/onnx/export.js';
import { onnxRoot } from '../../src/onnx/proto/schema.js';
import type { ImageShape } from '../../src/base/shapes.js';
import { Smooth } from '../../src/smoothing/smooth.js';
import { nativeClassifier } from '../../src/backend/native-classifier.js';
import { fillGaussian, SUBSTREAM } from '../../src/noise/gaussian.js';
import { argmaxWithGap, assertClose, randomImages, randomizeWeights, tempDir, tfjsLogits, writeTemp } from './helpers.js';

// The reference engine of the comparisons is the backend under test (native, or wasm in the fallback run).
await initBackend();
const dir = tempDir();
after(() => rmSync(dir, { recursive: true, force: true }));
/** float32 tolerance relative to the logits' scale (see assertClose). */
const TOL = 1e-4;

type Sym = tfl.SymbolicTensor;

/** Exports `model`, loads the .onnx as smoothcert would (NHWC, no outside normalization), compares logits. */
async function roundTrip(model: tfl.LayersModel, images: Float32Array, count: number): Promise<OnnxClassifier> {
  const shape = model.inputs[0]!.shape.slice(1) as ImageShape;
  const path = writeTemp(dir, `${model.name}.onnx`, exportOnnx(model));
  const onnx = await loadOnnxClassifier(path, { inputLayout: 'nhwc', expectedShape: shape });
  assert.deepEqual(onnx.inputShape, shape);
  assert.equal(onnx.numClasses, model.outputs[0]!.shape[1]);
  assertClose(await onnx.logits(images, count), tfjsLogits(model, images, count), TOL, `${model.name} logits`);
  return onnx;
}

/**
 * CERTIFY with one seed on both engines: the same noise reaches both, so the counts agree
 * unless a noisy sample's two top logits tie within float32 tolerance — checked per sample.
 */
async function sameCertificate(model: tfl.LayersModel, onnx: OnnxClassifier, x: Float32Array, n0: number, n: number): Promise<void> {
  const sigma = 0.25;
  const seed = 11;
  const d = x.length;
  const noisy = new Float32Array(n * d);
  fillGaussian(noisy, { seed, stream: 0, substream: SUBSTREAM.estimate }, 0, sigma);
  for (let i = 0; i < noisy.length; i++) noisy[i]! += x[i % d]!;
  const k = onnx.numClasses;
  const ref = argmaxWithGap(tfjsLogits(model, noisy, n), k);
  const got = await onnx.classify(noisy, n);
  ref.labels.forEach((label, j) => {
    if (got[j] !== label)
      assert.ok(ref.gaps[j]! <= TOL * 10, `sample ${j}: engines disagree (${label} vs ${got[j]}) with logit gap ${ref.gaps[j]}`);
  });
  const nearTies = ref.labels.filter((label, j) => got[j] !== label).length;
  // nativeClassifier counts in the addon (noise and arg-max there) when the native backend is active.
  const viaTfjs = await new Smooth(nativeClassifier(model), sigma, seed).certify(x, n0, n, 0.001, 32, 0);
  const viaOnnx = await new Smooth(onnx, sigma, seed).certify(x, n0, n, 0.001, 32, 0);
  if (nearTies === 0) assert.deepEqual(viaOnnx, viaTfjs);
  else assert.ok(Math.abs(viaOnnx.nA - viaTfjs.nA) <= nearTies, `nA ${viaOnnx.nA} vs ${viaTfjs.nA} with ${nearTies} near-ties`);
}

test('every supported layer type round-trips (functional graph with merges, NCHW-sensitive ops)', async () => {
  const input = tfl.input({ shape: [10, 10, 3], name: 'image' });
  const x0 = new Normalize({ mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] }).apply(input) as Sym;
  let a = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x0) as Sym;
  a = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(a) as Sym;
  const b = tfl.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(x0) as Sym; // 5×5
  const c = tfl.layers.conv2d({ filters: 8, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'elu' }).apply(a) as Sym;
  const m = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(c) as Sym; // 5×5
  let s = tfl.layers.add().apply([m, b]) as Sym;
  s = tfl.layers.reLU({ maxValue: 0.5 }).apply(s) as Sym;
  // 'same' average pooling with stride: border windows are partly outside, where tfjs averages the in-bounds pixels only
  const p = tfl.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(s) as Sym; // 3×3
  let z = tfl.layers
    .zeroPadding2d({
      padding: [
        [1, 0],
        [0, 2],
      ],
    })
    .apply(p) as Sym; // 4×5
  z = tfl.layers.conv2d({ filters: 6, kernelSize: 2, activation: 'tanh' }).apply(z) as Sym; // 3×4×6
  z = tfl.layers.softmax({ axis: -1 }).apply(z) as Sym; // over channels: axis 1 of the NCHW graph
  const side = tfl.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'softplus' }).apply(z) as Sym;
  let k = tfl.layers.concatenate().apply([z, side]) as Sym; // 3×4×10
  k = tfl.layers.leakyReLU({ alpha: 0.1 }).apply(k) as Sym;
  k = tfl.layers.dropout({ rate: 0.5 }).apply(k) as Sym;
  k = tfl.layers.activation({ activation: 'relu6' }).apply(k) as Sym;
  const flat = tfl.layers.flatten().apply(k) as Sym; // NHWC order
  const pooled = tfl.layers.globalAveragePooling2d({}).apply(k) as Sym;
  const maxed = tfl.layers.globalMaxPooling2d({}).apply(k) as Sym;
  let h = tfl.layers.concatenate().apply([flat, pooled, maxed]) as Sym;
  h = tfl.layers.dense({ units: 16, activation: 'sigmoid' }).apply(h) as Sym;
  h = tfl.layers.batchNormalization().apply(h) as Sym;
  const out = tfl.layers.dense({ units: 5 }).apply(h) as Sym;
  const model = tfl.model({ inputs: input, outputs: out, name: 'all_layers' });
  randomizeWeights(model, 1);
  await roundTrip(model, randomImages(3, [10, 10, 3], 2), 3);
});

test('a Sequential model: Flatten follows the NHWC order of tfjs, so Dense weights need no permutation', async () => {
  const model = tfl.sequential({
    name: 'seq',
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 5, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 4, activation: 'logSoftmax' as 'linear' }),
    ],
  });
  randomizeWeights(model, 3);
  await roundTrip(model, randomImages(2, [6, 5, 2], 4), 2);
});

test('the exported file: opset 13, IR 7, dynamic batch, documented NHWC input, metadata', () => {
  const model = ARCHITECTURES.lenet.build({
    numClasses: 10,
    inputShape: [28, 28, 1],
    normalization: { mean: [0.5], std: [0.25] },
    seed: 1,
  });
  const bytes = exportOnnx(model, { producerVersion: '9.9.9', metadata: { arch: 'lenet' } });
  const type = onnxRoot.lookupType('onnx.ModelProto');
  const decoded = type.toObject(type.decode(bytes), { longs: Number, defaults: false }) as {
    irVersion: number;
    producerName: string;
    producerVersion: string;
    docString: string;
    opsetImport: { domain?: string; version: number }[];
    metadataProps: { key: string; value: string }[];
    graph: {
      node: { opType: string }[];
      input: { name: string; type: { tensorType: { elemType: number; shape: { dim: object[] } } } }[];
      output: { name: string; type: { tensorType: { shape: { dim: object[] } } } }[];
    };
  };
  assert.equal(decoded.irVersion, 7);
  assert.deepEqual(decoded.opsetImport, [{ version: 13 }]);
  assert.equal(decoded.producerName, 'smoothcert');
  assert.equal(decoded.producerVersion, '9.9.9');
  assert.deepEqual(decoded.metadataProps, [{ key: 'arch', value: 'lenet' }]);
  assert.match(decoded.docString, /NHWC/);
  const [input] = decoded.graph.input;
  assert.equal(input!.name, 'input');
  assert.equal(input!.type.tensorType.elemType, 1);
  assert.deepEqual(input!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 28 }, { dimValue: 28 }, { dimValue: 1 }]);
  assert.deepEqual(decoded.graph.output[0]!.type.tensorType.shape.dim, [{ dimParam: 'batch' }, { dimValue: 10 }]);
  // normalization inside the graph: Sub then Div on the raw input, before anything else
  assert.deepEqual(
    decoded.graph.node.slice(0, 2).map((n) => n.opType),
    ['Sub', 'Div'],
  );
});

/**
 * LeNet trained end to end (every layer, consistency loss) on the bundled Fashion-MNIST sample.
 */
async function trainedLenet(): Promise<tfl.LayersModel> {
  await initBackend();
  const train = await loadDataset('fashion-mnist', 'train', { dataDir: fashionMnistSampleDir() });
  const model = ARCHITECTURES.lenet.build({ numClasses: 10, inputShape: [28, 28, 1], normalization: { mean: [0], std: [1] }, seed: 5 });
  const trainer = new Trainer(model, createMethod('consistency', 0.25), {
    epochs: 2,
    batchSize: 64,
    lr: 0.05,
    lrMilestones: [],
    lrGamma: 0.1,
    momentum: 0.9,
    nesterov: true,
    weightDecay: 1e-4,
    seed: 5,
  });
  const data = trainingData(train, 'none', 512);
  while (!trainer.done) await trainer.trainEpoch(data);
  trainer.optimizer.dispose();
  return model;
}

test('a trained LeNet: same logits and the same CERTIFY counts on tfjs and onnxruntime', async () => {
  const model = await trainedLenet();
  const sample = fashionMnistSampleDir();
  const testSet = await readIdxImageSet(join(sample, `${MNIST_FILES.test.images}.gz`), join(sample, `${MNIST_FILES.test.labels}.gz`), 10);
  const d = 28 * 28;
  const count = 16;
  const images = testSet.images.slice(0, count * d);
  const onnx = await roundTrip(model, images, count);
  // trained: most clean predictions are right, so CERTIFY below is not run on a near-constant classifier
  const predicted = await onnx.classify(images, count);
  const correct = predicted.filter((p, i) => p === testSet.labels[i]).length;
  assert.ok(correct >= count / 2, `only ${correct} of ${count} test images classified correctly`);
  await sameCertificate(model, onnx, images.slice(0, d), 16, 128);
  onnx.dispose();
});

test('CIFAR ResNet-20 (random weights, random BN statistics): same logits and CERTIFY counts', async () => {
  const model = ARCHITECTURES.cifar_resnet20.build({
    numClasses: 10,
    inputShape: [32, 32, 3],
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
    seed: 2,
  });
  randomizeWeights(model, 6);
  const images = randomImages(2, [32, 32, 3], 7);
  const onnx = await roundTrip(model, images, 2);
  await sameCertificate(model, onnx, images.slice(0, 32 * 32 * 3), 4, 12);
  onnx.dispose();
});

test('DenseNet-40 (concatenations, average pooling) round-trips at batch 2', async () => {
  const model = ARCHITECTURES.cifar_densenet40.build({
    numClasses: 10,
    inputShape: [32, 32, 3],
    normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    seed: 3,
  });
  randomizeWeights(model, 8);
  (await roundTrip(model, randomImages(2, [32, 32, 3], 9), 2)).dispose();
});

test('ResNet-50 (zero padding + max pooling stem, bottlenecks) round-trips on small 32×32 inputs', async () => {
  const model = ARCHITECTURES.resnet50.build({
    numClasses: 10,
    inputShape: [32, 32, 3],
    normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    seed: 4,
  });
  randomizeWeights(model, 10);
  (await roundTrip(model, randomImages(1, [32, 32, 3], 11), 1)).dispose();
});

test('an unsupported layer or activation is refused by name', () => {
  const input = tfl.input({ shape: [8, 8, 2] });
  const depthwise = tfl.layers.depthwiseConv2d({ kernelSize: 3, name: 'dw' }).apply(input) as Sym;
  const m1 = tfl.model({ inputs: input, outputs: tfl.layers.dense({ units: 2 }).apply(tfl.layers.flatten().apply(depthwise)) as Sym });
  assert.throws(
    () => exportOnnx(m1),
    (e: Error) => e instanceof UserError && /layer dw/.test(e.message) && /DepthwiseConv2D is not supported/.test(e.message),
  );
  const selu = tfl.layers.dense({ units: 2, activation: 'selu', name: 'head' }).apply(tfl.layers.flatten().apply(input)) as Sym;
  const m2 = tfl.model({ inputs: input, outputs: selu });
  assert.throws(
    () => exportOnnx(m2),
    (e: Error) => e instanceof UserError && /layer head: activation 'selu' is not supported/.test(e.message),
  );
});
