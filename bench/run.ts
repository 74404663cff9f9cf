/**
 * `npm run bench`: throughput of the engines on the paper's workloads, one JSON line per case
 * and engine on stdout (progress on stderr). Never part of the test suite.
 *
 *   node dist/bench/run.js [--seconds S] [--cases a,b] [--engines native,wasm,onnxruntime]
 *
 * Cases: lenet-certify (noise + forward + arg-max counts at batch 1000; onnxruntime-node runs the
 * ONNX export of the same weights), lenet-train-consistency (m = 2, 256 noisy samples per step),
 * resnet20-infer (batch 500), resnet20-train (consistency, m = 2, 128 noisy samples per step).
 * lenet-train-consistency also runs bench/pytorch_lenet.py (the authors'-style PyTorch loop) when a
 * python3 with PyTorch is present, and reports the native engine's ratio to it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadAddon } from '../src/backend/addon.js';
import { nativeUnavailableReason, setBackend, type BackendName } from '../src/backend/select.js';
import { ARCHITECTURES } from '../src/models/registry.js';
import { onnxSampling, testImage, tfjsSampling } from './certify.js';
import { forwardFlopsPerImage, TRAIN_FLOPS_FACTOR } from './flops.js';
import { round3 } from './measure.js';
import { pytorchLenetTraining } from './pytorch.js';
import { inferenceThroughput, trainingThroughput } from './train.js';

const CASES = ['lenet-certify', 'lenet-train-consistency', 'resnet20-infer', 'resnet20-train'] as const;
type Case = (typeof CASES)[number];
type Engine = 'native' | 'wasm' | 'onnxruntime' | 'pytorch';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seconds = Number(option('seconds') ?? 5);
const cases = (option('cases')?.split(',') ?? CASES) as Case[];
const engines = (option('engines')?.split(',') ?? ['native', 'wasm', 'onnxruntime', 'pytorch']) as Engine[];
const SIGMA = 0.25;

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function lenet(): tfl.LayersModel {
  return ARCHITECTURES.lenet.build({ numClasses: 10, inputShape: [28, 28, 1], normalization: { mean: [0], std: [1] }, seed: 1 });
}

function resnet20(): tfl.LayersModel {
  return ARCHITECTURES.cifar_resnet20.build({
    numClasses: 10, inputShape: [32, 32, 3], seed: 1,
    normalization: { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  });
}

/** Switches to a tfjs engine; returns why it cannot run, if it cannot. */
async function use(engine: BackendName): Promise<string | undefined> {
  if (engine === 'native' && nativeUnavailableReason() !== undefined) return nativeUnavailableReason();
  await setBackend(engine);
  return undefined;
}

const tfjsEngines = engines.filter((e): e is 'native' | 'wasm' => e === 'native' || e === 'wasm');

/** Runs `measure` on each selected tfjs engine that can run here; reports the others as skipped. */
async function onTfjsEngines(name: Case, measure: (engine: 'native' | 'wasm') => Promise<void>): Promise<void> {
  for (const engine of tfjsEngines) {
    const why = await use(engine);
    if (why !== undefined) {
      emit({ case: name, engine, skipped: why });
      continue;
    }
    process.stderr.write(`${name} on ${engine}…\n`);
    await measure(engine);
  }
}

async function lenetCertify(): Promise<void> {
  const batch = 1000;
  const x = testImage([28, 28, 1], 3);
  let ortRate: number | undefined;
  if (engines.includes('onnxruntime')) {
    await use(loadAddon().addon ? 'native' : 'wasm');
    const model = lenet();
    const flops = forwardFlopsPerImage(model);
    try {
      process.stderr.write('lenet-certify on onnxruntime…\n');
      const r = await onnxSampling(model, x, SIGMA, batch, seconds);
      ortRate = r.imagesPerSec;
      emit({ case: 'lenet-certify', engine: 'onnxruntime', batch, noise: r.noise, imagesPerSec: round3(r.imagesPerSec),
        gflops: round3(r.imagesPerSec * flops / 1e9), rssGrowthMB: round3(r.rssGrowthMB) });
    } catch (err) {
      emit({ case: 'lenet-certify', engine: 'onnxruntime', pending: `ONNX export or session failed: ${err instanceof Error ? err.message : String(err)}` });
    }
    model.dispose();
  }
  await onTfjsEngines('lenet-certify', async (engine) => {
    const model = lenet();
    const flops = forwardFlopsPerImage(model);
    const r = await tfjsSampling(model, x, SIGMA, batch, seconds);
    emit({
      case: 'lenet-certify', engine, batch, imagesPerSec: round3(r.imagesPerSec), gflops: round3(r.imagesPerSec * flops / 1e9),
      ...(ortRate === undefined ? {} : { ratioVsOnnxruntime: round3(r.imagesPerSec / ortRate) }),
      rssGrowthMB: round3(r.rssGrowthMB),
    });
    model.dispose();
  });
}

async function training(name: Case, build: () => tfl.LayersModel, noisySamples: number): Promise<void> {
  // The issue's yardstick for LeNet: the authors' PyTorch loop on the same machine, in the same run.
  let torchRate: number | undefined;
  if (name === 'lenet-train-consistency' && engines.includes('pytorch')) {
    process.stderr.write(`${name} on pytorch…\n`);
    const r = pytorchLenetTraining(seconds);
    if ('skipped' in r) emit({ case: name, engine: 'pytorch', skipped: r.skipped });
    else {
      torchRate = r.noisySamplesPerSec;
      emit({ case: name, engine: 'pytorch', m: 2, noisySamplesPerStep: noisySamples, noisySamplesPerSec: round3(r.noisySamplesPerSec),
        imagesPerSec: round3(r.noisySamplesPerSec / 2), threads: r.threads, torch: r.torch, blas: r.blas });
    }
  }
  await onTfjsEngines(name, async (engine) => {
    const model = build();
    const flops = forwardFlopsPerImage(model) * TRAIN_FLOPS_FACTOR;
    // wasm trains a ResNet at seconds per step: one measured step is enough for a rate.
    const r = await trainingThroughput(model, 10, noisySamples, 2, SIGMA, engine === 'wasm' ? seconds / 4 : seconds, engine === 'wasm' ? 1 : 2);
    emit({
      case: name, engine, m: 2, noisySamplesPerStep: noisySamples, noisySamplesPerSec: round3(r.noisySamplesPerSec),
      imagesPerSec: round3(r.imagesPerSec), gflops: round3(r.noisySamplesPerSec * flops / 1e9),
      ...(torchRate === undefined ? {} : { ratioVsPytorch: round3(r.noisySamplesPerSec / torchRate) }),
    });
    model.dispose();
  });
}

async function resnetInfer(): Promise<void> {
  await onTfjsEngines('resnet20-infer', async (engine) => {
    const model = resnet20();
    const rate = await inferenceThroughput(model, 500, seconds);
    emit({ case: 'resnet20-infer', engine, batch: 500, imagesPerSec: round3(rate), gflops: round3(rate * forwardFlopsPerImage(model) / 1e9) });
    model.dispose();
  });
}

for (const c of cases) {
  if (c === 'lenet-certify') await lenetCertify();
  else if (c === 'lenet-train-consistency') await training(c, lenet, 256);
  else if (c === 'resnet20-infer') await resnetInfer();
  else if (c === 'resnet20-train') await training(c, resnet20, 128);
  else throw new Error(`unknown case ${String(c)}; cases: ${CASES.join(', ')}`);
  tf.disposeVariables();
}
