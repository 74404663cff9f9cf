import { test } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createMethod, METHODS } from '../../src/training/methods.js';
import { METHOD_NAMES, type MethodOptions, type TrainingMethod } from '../../src/training/method.js';
import { lossAndGrads, trainableVariables } from '../../src/training/step.js';
import { philoxNoise } from '../../src/noise/tensor-noise.js';
import { batchNorm, conv, linear, relu, TorchInit, type Tensor } from '../../src/models/layers.js';
import { SettingError, UserError } from '../../src/base/errors.js';
import { mulberry } from '../helpers/rng.js';
import { softmax } from './reference.js';

// ---- options and validation ----

test('METHODS lists the five methods with the paper defaults', () => {
  assert.deepEqual(Object.keys(METHODS).sort(), [...METHOD_NAMES].sort());
  assert.deepEqual(METHODS.consistency.defaults, { numNoise: 2, lbd: 10, eta: 0.5, form: 'default' });
  assert.deepEqual(METHODS.macer.defaults, { numNoise: 16, lbd: 16, gamma: 8, beta: 16, deferEpochs: 0 });
  assert.deepEqual(METHODS.stability.defaults, { lbd: 2 });
  const c = createMethod('consistency', 0.25, { lbd: 5 });
  assert.deepEqual(c.options, { numNoise: 2, lbd: 5, eta: 0.5, form: 'default' });
  assert.equal(c.sigma, 0.25);
  assert.equal(c.numNoise, 2);
  assert.equal(c.splitsBatch, true);
  assert.equal(createMethod('macer', 0.25).splitsBatch, false);
  assert.equal(createMethod('stability', 0.25).numNoise, 1);
  // Options left undefined (an unset CLI flag) keep the default.
  assert.equal(createMethod('consistency', 0.5, { lbd: undefined }).options.lbd, 10);
});

test('bad methods and options are UserErrors that say how to fix them', () => {
  const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
  assert.throws(
    () => createMethod('adversarial', 0.25),
    userError(/unknown training method "adversarial".*gaussian, consistency, smoothadv, stability, macer/),
  );
  assert.throws(
    () => createMethod('consistency', 0.25, { numNoise: 1 }),
    (e: unknown) =>
      e instanceof UserError &&
      e.message === 'consistency regularization needs m ≥ 2 noisy copies (the KL term vanishes at m = 1); give numNoise 2 or more',
  );
  assert.throws(() => createMethod('smoothadv', 0.25, { numNoise: 1, lbd: 1 }), userError(/m ≥ 2 noisy copies/));
  assert.equal(createMethod('smoothadv', 0.25, { numNoise: 1 }).numNoise, 1);
  assert.throws(
    () => createMethod('gaussian', -0.25),
    userError(/sigma must be a number ≥ 0 and ≤ 2\^125 \(x \+ σz finite in float32\), got -0.25/),
  );
  assert.throws(() => createMethod('gaussian', 2 ** 126), userError(/sigma must be a number ≥ 0 and ≤ 2\^125/));
  assert.throws(() => createMethod('consistency', 0.25, { lbd: -1 }), userError(/lbd must be a finite number ≥ 0, got -1/));
  assert.throws(() => createMethod('consistency', 0.25, { numNoise: 2.5 }), userError(/numNoise must be an integer ≥ 1/));
  assert.throws(
    () => createMethod('consistency', 0.25, { form: 'l1' as MethodOptions['form'] }),
    userError(/form must be one of default, xent, kl, mse/),
  );
  assert.throws(
    () => createMethod('consistency', 0.25, { gamma: 8 }),
    userError(/gamma does not apply to method consistency \(its options: numNoise, lbd, eta, form\)/),
  );
  assert.throws(() => createMethod('macer', 0.25, { beta: 0 }), userError(/beta must be a finite number > 0/));
  assert.throws(() => createMethod('smoothadv', 0.25, { warmup: 0 }), userError(/warmup must be an integer ≥ 1/));
});

test('option errors keep the option key, so a front end can name it in its own words', () => {
  const flags: Record<string, string> = { form: '--consistency-loss', numNoise: '--num-noise' };
  const name = (key: string) => flags[key] ?? key;
  assert.throws(
    () => createMethod('gaussian', 0.25, { form: 'kl' }),
    (e: unknown) =>
      e instanceof SettingError &&
      e.setting === 'form' &&
      e.describe(name) === 'option --consistency-loss does not apply to method gaussian (its options: --num-noise)',
  );
});

// ---- wiring, checked at σ = 0 against closed forms of the model's own outputs ----

function denseModel(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [4, 4, 1] }),
      tfl.layers.dense({ units: 3, kernelInitializer: tfl.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
}

function smallBatch() {
  const rng = mulberry(21);
  return { x: tf.tensor4d(Array.from({ length: 4 * 16 }, rng), [4, 4, 4, 1]), labels: tf.tensor1d([0, 1, 2, 1], 'int32') };
}

function stepLoss(method: TrainingMethod, model: tfl.LayersModel, batch: ReturnType<typeof smallBatch>, epoch = 0, seed = 1, step = 0) {
  const s = method.prepare(model, batch, { noise: philoxNoise(seed, step), epoch });
  const r = lossAndGrads(s, trainableVariables(model));
  tf.dispose(r.grads);
  s.dispose();
  return r;
}

test('at σ = 0 each method reduces to a closed form of f(x)', () => {
  const model = denseModel();
  const batch = smallBatch();
  const probs = ((model.predict(batch.x) as tf.Tensor).arraySync() as number[][]).map((r) => softmax(r));
  const y = batch.labels.arraySync() as number[];
  const ce = y.reduce((s, label, i) => s - Math.log(probs[i]![label]!), 0) / y.length;
  const entropy = probs.reduce((s, p) => s - p.reduce((t, v) => t + v * Math.log(v), 0), 0) / y.length;
  const nll = y.reduce((s, label, i) => s - Math.log(probs[i]![label]! + 1e-10), 0) / y.length;
  const near = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) < 1e-5, `${what}: ${got} vs ${want}`);
  near(stepLoss(createMethod('gaussian', 0, { numNoise: 3 }), model, batch).loss, ce, 'gaussian');
  // Identical copies: the KL term vanishes, η·H(p) remains.
  near(stepLoss(createMethod('consistency', 0, { lbd: 10, eta: 0.5 }), model, batch).loss, ce + 0.5 * entropy, 'consistency');
  // Stability: the soft cross-entropy of p with itself is H(p).
  near(stepLoss(createMethod('stability', 0, { lbd: 2 }), model, batch).loss, ce + 2 * entropy, 'stability');
  // MACER: the robustness term carries a factor σ/2 = 0.
  near(stepLoss(createMethod('macer', 0, { numNoise: 4 }), model, batch).loss, nll, 'macer');
  near(stepLoss(createMethod('smoothadv', 0, { epsilon: 0, numNoise: 2 }), model, batch).loss, ce, 'smoothadv ε = 0');
  const r = stepLoss(createMethod('consistency', 0), model, batch);
  assert.equal(r.numSamples, 8);
  const correct = y.filter((label, i) => probs[i]!.indexOf(Math.max(...probs[i]!)) === label).length;
  assert.equal(r.correct, 2 * correct);
});

test('SmoothAdv ε warm-up: ε_t = min(ε, (epoch + 1)·ε / warmup)', () => {
  const model = denseModel();
  const batch = smallBatch();
  const loss = (o: MethodOptions, epoch: number) =>
    stepLoss(createMethod('smoothadv', 0, { numNoise: 2, numSteps: 3, ...o }), model, batch, epoch).loss;
  const clean = loss({ epsilon: 0 }, 0);
  const warm0 = loss({ epsilon: 1, warmup: 10 }, 0);
  assert.ok(Math.abs(warm0 - loss({ epsilon: 0.1, warmup: 1 }, 0)) < 1e-6);
  assert.ok(Math.abs(loss({ epsilon: 1, warmup: 10 }, 4) - loss({ epsilon: 0.5, warmup: 1 }, 0)) < 1e-6);
  const full = loss({ epsilon: 1, warmup: 10 }, 9);
  assert.ok(Math.abs(full - loss({ epsilon: 1, warmup: 10 }, 50)) < 1e-6);
  assert.ok(clean < warm0 && warm0 < full, `${clean} < ${warm0} < ${full}`);
});

test('noise is reproducible per (seed, step); MACER defers λ for deferEpochs', () => {
  const model = denseModel();
  const batch = smallBatch();
  const m = createMethod('consistency', 0.5);
  assert.equal(stepLoss(m, model, batch, 0, 3, 5).loss, stepLoss(m, model, batch, 0, 3, 5).loss);
  assert.notEqual(stepLoss(m, model, batch, 0, 3, 5).loss, stepLoss(m, model, batch, 0, 3, 6).loss);
  const deferred = createMethod('macer', 0.5, { numNoise: 4, deferEpochs: 2 });
  const plain = createMethod('macer', 0.5, { numNoise: 4, lbd: 0 });
  assert.equal(stepLoss(deferred, model, batch, 1).loss, stepLoss(plain, model, batch, 1).loss);
  assert.ok(stepLoss(deferred, model, batch, 2).loss > stepLoss(plain, model, batch, 2).loss);
});

test('every method that allows m = 1 runs with a single noisy copy', () => {
  const model = denseModel();
  const batch = smallBatch();
  for (const [name, options] of [
    ['gaussian', {}],
    ['smoothadv', { numNoise: 1, numSteps: 2 }],
    ['macer', { numNoise: 1 }],
    ['stability', {}],
  ] as const) {
    const r = stepLoss(createMethod(name, 0.25, options), model, batch);
    assert.ok(Number.isFinite(r.loss), name);
    assert.equal(r.numSamples, 4);
  }
});

// ---- short trainings on two separable blobs ----

/** 8×8 images: class 0 brighter on the left half, class 1 on the right, plus pixel noise. */
function blobs(n: number, seed: number) {
  const rng = mulberry(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const labels = Array.from({ length: n }, (_, i) => i % 2);
  const pixels: number[] = [];
  for (const label of labels) {
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 8; c++) {
        const bright = c < 4 === (label === 0);
        pixels.push(Math.min(1, Math.max(0, 0.5 + (bright ? 0.2 : -0.2) + 0.1 * gauss())));
      }
  }
  return { x: tf.tensor4d(pixels, [n, 8, 8, 1]), labels: tf.tensor1d(labels, 'int32') };
}

function convNet(): tfl.LayersModel {
  const init = new TorchInit(5);
  const input = tfl.input({ shape: [8, 8, 1] });
  let h: Tensor = conv(input, { name: 'conv', filters: 4, kernel: 3, stride: 2, padding: 1, init: 'he' }, init);
  h = relu(batchNorm(h, 'bn'), 'relu');
  h = tfl.layers.flatten().apply(h) as Tensor;
  return tfl.model({ inputs: input, outputs: linear(h, 2, 'fc', init) });
}

/** The loop's batching rule: a loader batch of B images is numNoise steps of B/numNoise images when splitsBatch. */
function train(method: TrainingMethod, steps: number): number[] {
  const model = convNet();
  const variables = trainableVariables(model);
  const optimizer = tf.train.sgd(0.1);
  const data = blobs(64, 9);
  const losses: number[] = [];
  for (let start = 0; losses.length < steps; start = (start + 16) % 64) {
    const chunks = method.splitsBatch ? method.numNoise : 1;
    const size = 16 / chunks;
    for (let c = 0; c < chunks && losses.length < steps; c++) {
      const x = tf.slice(data.x, [start + c * size, 0, 0, 0], [size, 8, 8, 1]);
      const labels = tf.slice(data.labels, [start + c * size], [size]);
      const step = method.prepare(model, { x, labels }, { noise: philoxNoise(7, losses.length), epoch: 0 });
      const r = lossAndGrads(step, variables);
      optimizer.applyGradients(r.grads);
      tf.dispose([r.grads, x, labels]);
      step.dispose();
      losses.push(r.loss);
    }
  }
  tf.dispose([data.x, data.labels]);
  model.dispose();
  optimizer.dispose();
  return losses;
}

const trainings: Array<[string, string, MethodOptions]> = [
  ['gaussian', 'gaussian', {}],
  ['consistency', 'consistency', { lbd: 5 }],
  ['smoothadv', 'smoothadv', { numNoise: 2, numSteps: 2, epsilon: 0.5, warmup: 1 }],
  ['smoothadv + consistency', 'smoothadv', { numNoise: 2, numSteps: 2, epsilon: 0.5, warmup: 1, lbd: 1 }],
  ['stability', 'stability', {}],
  ['macer', 'macer', { numNoise: 4 }],
];

for (const [label, name, options] of trainings) {
  test(`${label}: the training loss falls on two separable blobs`, () => {
    const before = tf.memory().numTensors;
    const losses = train(createMethod(name, 0.25, options), 40);
    assert.ok(losses.every(Number.isFinite));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 8));
    const last = mean(losses.slice(-8));
    assert.ok(last < 0.7 * first, `loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
    // Every step's tensors are released (the model's variables were disposed with it).
    assert.equal(tf.memory().numTensors, before);
  });
}
