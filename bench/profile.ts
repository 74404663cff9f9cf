/**
 * Where a consistency-training step (m = 2) spends its time on the native backend, for the
 * architecture named (default lenet: 256 noisy samples per step, the bench case
 * lenet-train-consistency; a CIFAR network: 128, as resnet20-train), or with `certify` one
 * certification batch (noise + forward + arg-max counts; 1000 samples for LeNet, 400 for a CIFAR
 * network, as the bench's certify cases; `certify-bf16` with --precision bf16; `train-bf16` a step of
 * train --precision bf16): per tfjs kernel (outermost
 * calls, so a kernel that computes a lazy input is charged for it) and per addon function
 * (native time only, keyed by shape for convolutions and matrix products). Not a benchmark:
 * the timers add overhead of their own. `node --cpu-prof` cannot be used instead: it corrupts
 * the heap inside oneDNN.
 *
 *   node dist/bench/profile.js [architecture] [steps] [train|train-bf16|certify|certify-bf16]
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, type NativeAddon } from '../src/backend/addon.js';
import { NATIVE_BACKEND } from '../src/backend/native-backend.js';
import { nativeClassifier } from '../src/backend/native-classifier.js';
import { nativePhiloxNoise } from '../src/backend/noise.js';
import { arithmeticFor } from '../src/backend/precision.js';
import { nativeUnavailableReason, setBackend } from '../src/backend/select.js';
import { DATASETS } from '../src/data/datasets.js';
import { SUBSTREAM } from '../src/noise/gaussian.js';
import { architectureFor } from '../src/models/registry.js';
import { createMethod } from '../src/training/methods.js';
import { Sgd } from '../src/training/sgd.js';
import { trainableVariables, trainStep, type StepTimings } from '../src/training/step.js';

type Tally = Map<string, { calls: number; ms: number }>;

function count(tally: Tally, key: string, ms: number): void {
  const entry = tally.get(key) ?? { calls: 0, ms: 0 };
  entry.calls++;
  entry.ms += ms;
  tally.set(key, entry);
}

/** Wraps every kernel of the native backend with a timer of its outermost calls. */
function timeKernels(tally: Tally): void {
  let depth = 0;
  for (const config of tf.getKernelsForBackend(NATIVE_BACKEND)) {
    const run = config.kernelFunc;
    tf.unregisterKernel(config.kernelName, NATIVE_BACKEND);
    tf.registerKernel({
      ...config,
      kernelFunc: (args) => {
        depth++;
        const start = performance.now();
        try {
          return run(args);
        } finally {
          depth--;
          if (depth === 0) count(tally, config.kernelName, performance.now() - start);
        }
      },
    });
  }
}

/** Wraps every addon function with a timer; convolutions and matrix products are keyed by their operand shapes. */
function timeAddon(addon: NativeAddon, tally: Tally): void {
  const functions = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of Object.keys(functions)) {
    const run = functions[name]!;
    functions[name] = (...args: unknown[]) => {
      const start = performance.now();
      try {
        return run(...args);
      } finally {
        let key = name;
        if (name === 'binary' || name === 'unary' || name === 'reduce') key += ` op ${String(args[0])}`;
        if (name.startsWith('conv2d') || name === 'batchMatMul') key += ` ${JSON.stringify(args[1])} ${JSON.stringify(args[3])}`;
        if (name === 'batchMatMul') key += ` ${String(args[5])} ${String(args[6])}`;
        count(tally, key, performance.now() - start);
      }
    };
  }
}

function print(title: string, tally: Tally, steps: number): void {
  let total = 0;
  process.stdout.write(`${title} (per step: calls, ms)\n`);
  for (const [key, { calls, ms }] of [...tally].sort((a, b) => b[1].ms - a[1].ms)) {
    total += ms;
    process.stdout.write(`  ${key.padEnd(64)} ${(calls / steps).toFixed(1).padStart(6)} ${(ms / steps).toFixed(3).padStart(9)}\n`);
  }
  process.stdout.write(`  ${'total'.padEnd(64)} ${''.padStart(6)} ${(total / steps).toFixed(3).padStart(9)}\n`);
}

const arch = process.argv[2] ?? 'lenet';
const steps = Number(process.argv[3] ?? 60);
const mode = process.argv[4] ?? 'train';
const modes = ['train', 'train-bf16', 'certify', 'certify-bf16'];
if (!modes.includes(mode)) throw new Error(`mode ${mode}: use ${modes.join(', ')}`);
const training = mode.startsWith('train');
// The bench cases' sizes: LeNet's steps are twice ResNet-20's (the authors' batch sizes per dataset).
const dataset = arch === 'lenet' ? DATASETS.mnist : DATASETS.cifar10;
const batch = training ? (arch === 'lenet' ? 256 : 128) : arch === 'lenet' ? 1000 : 400;
const addon = loadAddon().addon;
if (nativeUnavailableReason() !== undefined || !addon) throw new Error(`native backend unavailable: ${nativeUnavailableReason()}`);
await setBackend('native');
const kernels: Tally = new Map();
const natives: Tally = new Map();
timeKernels(kernels);
timeAddon(addon, natives);

const model = architectureFor(arch, dataset.shape).build({
  numClasses: dataset.numClasses,
  inputShape: dataset.shape,
  normalization: dataset.normalization,
  seed: 1,
});
const phases: StepTimings = { prepare: 0, lossAndGrads: 0, sgd: 0 };
let profiledStep: () => Promise<void>;
let release: () => void;
if (training) {
  const arithmetic = arithmeticFor(mode === 'train-bf16' ? 'bf16' : 'fp32');
  const method = createMethod('consistency', 0.25, { numNoise: 2 });
  const sgd = new Sgd({ momentum: 0.9, nesterov: true, weightDecay: 1e-4 });
  const variables = trainableVariables(model);
  const x = tf.randomUniform([batch / 2, ...dataset.shape], 0, 1, 'float32', 1) as tf.Tensor4D;
  const labels = tf.tensor1d(
    Array.from({ length: batch / 2 }, (_, i) => i % dataset.numClasses),
    'int32',
  );
  let step = 0;
  profiledStep = async () => {
    arithmetic(() =>
      trainStep(
        { model, method, optimizer: sgd, variables, noise: nativePhiloxNoise(0, step++), epoch: 0, lr: 0.01 },
        { x, labels },
        phases,
      ),
    );
  };
  release = () => tf.dispose([x, labels]);
} else {
  const classifier = nativeClassifier(model, undefined, { precision: mode === 'certify-bf16' ? 'bf16' : 'fp32' });
  const x = tf.tidy(() => tf.randomUniform(dataset.shape, 0, 1, 'float32', 1).dataSync() as Float32Array).slice();
  const counts = new Float64Array(dataset.numClasses);
  let offset = 0;
  profiledStep = async () => {
    await classifier.countNoisy!(x, 0.25, { seed: 0, stream: 0, substream: SUBSTREAM.estimate }, offset, batch, batch, counts);
    offset += batch;
  };
  release = () => undefined;
}

for (let i = 0; i < 3; i++) await profiledStep(); // primitive creation and warm-up
kernels.clear();
natives.clear();
phases.prepare = phases.lossAndGrads = phases.sgd = 0;
const start = performance.now();
for (let i = 0; i < steps; i++) await profiledStep();
const ms = (performance.now() - start) / steps;
process.stdout.write(
  `${ms.toFixed(2)} ms/step (${((batch / ms) * 1000).toFixed(0)} ${training ? 'noisy samples' : 'images'}/s with the timers on)` +
    (training
      ? `; phases ms/step: ${Object.entries(phases)
          .map(([k, v]) => `${k} ${(v / steps).toFixed(2)}`)
          .join(', ')}`
      : '') +
    '\n',
);
print('tfjs kernels', kernels, steps);
print('addon functions', natives, steps);
process.stdout.write(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB\n`);
release();
