import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset } from '../../src/loaders/registry.js';
import { saveModel } from '../../src/files/model-folder.js';
import { fillGaussian, SUBSTREAM } from '../../src/noise/gaussian.js';
import { commonRange, histogram } from '../../src/report/histogram.js';
import { logProbGaps } from '../../src/smoothing/log-prob-gap.js';
import { cli } from '../helpers/cli.js';
import { saveTinyModel } from '../helpers/models.js';

const tmp = mkdtempSync(join(tmpdir(), 'smoothcert-gaps-'));
const INDEX = 7;
const PIXEL = 300;
const SIGMA = 0.5;

test('logProbGaps is z_y − max of the other logits (the softmax normalizer cancels)', () => {
  assert.deepEqual([...logProbGaps([2, 0, 1, 0, 3, 1], 2, 3, 0)], [1, -3]);
  assert.deepEqual([...logProbGaps([2, 0, 1, 0, 3, 1], 2, 3, 2)], [-1, -2]);
  assert.throws(() => logProbGaps([1, 2], 1, 2, 2), /class 2 is not one of the 2 classes/);
});

test('gaps histograms a model with known logits exactly as computed by hand', async () => {
  // logits = W·(x + δ) with one weight: z_y = pixel PIXEL, every other logit 0. So the gap of draw j
  // is x_PIXEL + σ·z_j[PIXEL], computed here from the same Philox stream.
  const test = await loadDataset('fashion-mnist', 'test');
  const label = test.label(INDEX);
  const x = await test.image(INDEX);
  const kernel = new Float32Array(784 * 10);
  kernel[PIXEL * 10 + label] = 1;
  const model = tfl.sequential({
    layers: [tfl.layers.flatten({ inputShape: [28, 28, 1] }), tfl.layers.dense({ units: 10, useBias: false })],
  });
  model.setWeights([tf.tensor2d(kernel, [784, 10])]);
  const dir = join(tmp, 'known-s0.5'); // a dot in the folder name: the default label keeps it
  await saveModel(dir, model, {
    format: 'smoothcert-model',
    version: 1,
    arch: 'known',
    dataset: 'fashion-mnist',
    inputShape: [28, 28, 1],
    numClasses: 10,
    normalization: { mean: [0], std: [1] },
    training: { sigma: SIGMA },
  });
  const n = 500;
  const noise = new Float32Array(n * 784);
  fillGaussian(noise, { seed: 3, stream: INDEX, substream: SUBSTREAM.gaps }, 0, SIGMA);
  const want = Array.from({ length: n }, (_, j) => Math.fround(x[PIXEL]! + noise[j * 784 + PIXEL]!));
  const { lo, hi } = commonRange([want]);
  const counts = histogram(want, 8, lo, hi).counts;

  const out = join(tmp, 'known.csv');
  const r = cli([
    'gaps',
    '--model',
    dir,
    '--index',
    String(INDEX),
    '--n',
    String(n),
    '--seed',
    '3',
    '--bins',
    '8',
    '--batch',
    '128',
    '--out',
    out,
    '--plot',
    join(tmp, 'known.svg'),
  ]);
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
  assert.ok(
    rows.every((row) => row[0] === 'known-s0.5'),
    'the default label is the folder name',
  );
  assert.deepEqual(
    rows.map((row) => Number(row[4])),
    counts,
  );
  assert.ok(Math.abs(Number(rows[0]![2]) - lo) < 1e-6 && Math.abs(Number(rows.at(-1)![3]) - hi) < 1e-6);
  assert.match(readFileSync(join(tmp, 'known.svg'), 'utf8'), /^<svg/);
  const wrong = want.filter((g) => g < 0).length;
  assert.match(r.stderr, new RegExp(`^known-s0\\.5: .*misclassified under noise ${((100 * wrong) / n).toFixed(1)}% of ${n} draws`, 'm'));
});

test('gaps refuses an image out of range, a model that does not fit the data, and mismatched labels', async () => {
  const cifar = join(tmp, 'cifar');
  await saveTinyModel(cifar, [32, 32, 3], 10, 0.25);
  const mnist = join(tmp, 'mnist');
  await saveTinyModel(mnist, [28, 28, 1], 10, 0.25);
  const expect = (args: string[], pattern: RegExp) => {
    const r = cli(['gaps', ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, pattern);
  };
  expect(
    ['--model', mnist, '--index', '10000', '--n', '10'],
    /--index 10000 is out of range: the fashion-mnist test split has images 0 to 9999/,
  );
  expect(['--model', cifar, '--index', '0', '--n', '10'], /takes 32×32×3 images but dataset fashion-mnist has 28×28×1/);
  expect(['--model', mnist, '--model', mnist, '--labels', 'one', '--index', '0', '--n', '10'], /--labels has 1 labels for 2 models/);
});
