import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { UserError } from '../../src/base/errors.js';
import { fillGaussian, SUBSTREAM } from '../../src/noise/gaussian.js';
import { loadOnnxClassifier } from '../../src/onnx/classifier.js';
import { normalInverseCdf } from '../../src/smoothing/bounds.js';
import { Smooth } from '../../src/smoothing/smooth.js';
import { assertClose } from './helpers.js';

/**
 * The committed fixture, made by scripts/make-onnx-fixture.py with PyTorch's exporter: a tiny
 * CNN for 28×28×1 Fashion-MNIST, NCHW input, normalization (x − 0.5) / 0.5 outside the graph.
 * The JSON holds the first test images with PyTorch's clean logits and predictions.
 */
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/onnx/fashion-tiny.onnx', import.meta.url));
interface Recorded {
  index: number;
  label: number;
  pixels_base64: string;
  logits: number[];
  prediction: number;
}
const record = JSON.parse(readFileSync(FIXTURE.replace(/\.onnx$/, '.json'), 'utf8')) as {
  input_layout: 'nchw';
  mean: number[];
  std: number[];
  num_classes: number;
  images: Recorded[];
};
const D = 28 * 28;
const pixels = (r: Recorded): Float32Array => Float32Array.from(Buffer.from(r.pixels_base64, 'base64'), (p) => p / 255);
const images = new Float32Array(record.images.length * D);
record.images.forEach((r, i) => images.set(pixels(r), i * D));
const asRecorded = {
  inputLayout: record.input_layout,
  mean: record.mean,
  std: record.std,
  expectedShape: [28, 28, 1] as [number, number, number],
};

test('the PyTorch fixture: clean logits and predictions match those PyTorch recorded', async () => {
  const f = await loadOnnxClassifier(FIXTURE, asRecorded);
  assert.deepEqual(f.inputShape, [28, 28, 1]);
  assert.equal(f.numClasses, record.num_classes);
  const n = record.images.length;
  assertClose(
    await f.logits(images, n),
    record.images.flatMap((r) => r.logits),
    1e-4,
    'fixture logits',
  );
  assert.deepEqual(
    Array.from(await f.classify(images, n)),
    record.images.map((r) => r.prediction),
  );
  // batching does not matter: one image at a time gives the same labels
  for (let i = 0; i < n; i++) assert.equal((await f.classify(images.subarray(i * D, (i + 1) * D), 1))[0], record.images[i]!.prediction);
  f.dispose();
});

test('the fixture without its outside normalization gives other logits (the mean/std really are applied)', async () => {
  const f = await loadOnnxClassifier(FIXTURE, { inputLayout: 'nchw', expectedShape: [28, 28, 1] });
  const logits = await f.logits(images, record.images.length);
  const expected = record.images.flatMap((r) => r.logits);
  assert.ok(logits.some((v, i) => Math.abs(v - expected[i]!) > 0.1));
  f.dispose();
});

test('CERTIFY on the fixture: the counts of an independent onnxruntime loop, and the recorded clean class', async () => {
  // small enough that g keeps f's clean class on these images (the fixture was not trained with noise)
  const sigma = 0.05;
  const seed = 3;
  const [n0, n, alpha] = [16, 128, 0.001];
  const f = await loadOnnxClassifier(FIXTURE, asRecorded);
  const smooth = new Smooth(f, sigma, seed);
  // a raw session fed by hand: noise in [0, 1] pixel space, then (x − 0.5) / 0.5, as [n, 1, 28, 28]
  const session = await ort.InferenceSession.create(FIXTURE);
  const handCounts = async (x: Float32Array, stream: number, substream: number, num: number): Promise<number[]> => {
    const noise = new Float32Array(num * D);
    fillGaussian(noise, { seed, stream, substream }, 0, sigma);
    const input = noise.map((z, i) => Math.fround(Math.fround(x[i % D]! + z) - 0.5) / 0.5); // float32 steps
    const out = (await session.run({ image: new ort.Tensor('float32', input, [num, 1, 28, 28]) })).logits!.data as Float32Array;
    const counts = new Array<number>(10).fill(0);
    for (let j = 0; j < num; j++) {
      const row = Array.from(out.subarray(j * 10, (j + 1) * 10));
      counts[row.indexOf(Math.max(...row))]!++;
    }
    return counts;
  };
  let certified = 0;
  for (const [i, r] of record.images.entries()) {
    const x = pixels(r);
    const result = await smooth.certify(x, n0, n, alpha, 50, i);
    const selection = await handCounts(x, i, SUBSTREAM.select, n0);
    const estimation = await handCounts(x, i, SUBSTREAM.estimate, n);
    const cHat = selection.indexOf(Math.max(...selection));
    assert.equal(result.nA, estimation[cHat], `image ${i}: nA`);
    if (result.prediction === -1) continue;
    certified++;
    assert.equal(result.prediction, cHat);
    assert.equal(result.prediction, r.prediction, `image ${i}: certified class vs PyTorch's clean prediction`);
    assert.ok(Math.abs(result.radius - sigma * normalInverseCdf(result.pABar)) < 1e-12 && result.radius > 0);
  }
  assert.ok(certified >= record.images.length / 2, `only ${certified} images certified`);
  await session.release();
  f.dispose();
});

test('the fixture read with the wrong layout or for another dataset is refused with the fix', async () => {
  await assert.rejects(
    loadOnnxClassifier(FIXTURE, { ...asRecorded, inputLayout: 'nhwc' }),
    (e: Error) =>
      e instanceof UserError &&
      /\[batch, 1, 28, 28\]/.test(e.message) &&
      // One sentence that does not contradict itself: the wrong reading fails, the other one fits.
      /read as \[batch, H, W, C\] \(inputLayout nhwc\), which does not fit the dataset's 28×28×1 \(H×W×C\) images; read as inputLayout nchw, it fits$/.test(
        e.message,
      ),
  );
  await assert.rejects(
    loadOnnxClassifier(FIXTURE, { ...asRecorded, expectedShape: [32, 32, 3] }),
    (e: Error) => e instanceof UserError && /does not fit the dataset's 32×32×3/.test(e.message),
  );
  await assert.rejects(
    loadOnnxClassifier(FIXTURE, { ...asRecorded, mean: [0.5, 0.5, 0.5] }),
    (e: Error) => e instanceof UserError && /mean has 3 values but the model's input has 1 channels/.test(e.message),
  );
  await assert.rejects(
    loadOnnxClassifier(FIXTURE, { ...asRecorded, std: [0] }),
    (e: Error) => e instanceof UserError && /std values must be > 0/.test(e.message),
  );
});
