/**
 * One round of one bench case on one engine, in a process of its own so that its peak resident
 * memory is the case's alone: prints one JSON object { rate, rssGrowthMB, peakRssMB, … }.
 * Started by bench/run.ts; not meant to be run by hand.
 *
 *   node dist/bench/engine.js CASE ENGINE SECONDS
 *
 * ENGINE: plan | plan-bf16 (the native inference plan; `plan:32` sets its batch) | native | native-bf16
 * (tfjs layer by layer on the native backend; on train cases a bf16 training step) | wasm | onnxruntime |
 * pytorch | pytorch-bf16 (certify cases).
 */
import { loadAddon } from '../src/backend/addon.js';
import { nativeUnavailableReason, setBackend } from '../src/backend/select.js';
import { buildModel, CASES, datasetOf, NUM_NOISE, SIGMA, type CaseName } from './cases.js';
import { onnxSampling, planSampling, testImage, tfjsSampling } from './certify.js';
import { pytorchCertify } from './pytorch-certify.js';
import { forwardFlopsPerImage, TRAIN_FLOPS_FACTOR } from './flops.js';
import { trainingThroughput } from './train.js';

const [name, engineArg, secondsArg] = process.argv.slice(2) as [CaseName, string, string];
const [engine, planBatchArg] = engineArg.split(':') as [string, string | undefined];
const planBatch = planBatchArg === undefined ? undefined : Number(planBatchArg);
const c = CASES[name];
const seconds = Number(secondsArg);

function print(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

const bf16 = engine.endsWith('-bf16');
if ((engine.startsWith('native') || engine.startsWith('plan')) && nativeUnavailableReason() !== undefined) {
  print({ skipped: nativeUnavailableReason() });
} else if (bf16 && engine !== 'pytorch-bf16' && !loadAddon().addon?.info().bf16) {
  print({ skipped: 'this CPU lacks AVX512-BF16' });
} else {
  // onnxruntime's peer takes its noise from the addon when it loads (the comparison is between inference
  // engines), and the model is built on the fastest tfjs engine available.
  await setBackend(engine === 'wasm' ? 'wasm' : loadAddon().addon ? 'native' : 'wasm');
  const model = buildModel(c);
  const dataset = datasetOf(c);
  const flopsPerUnit = forwardFlopsPerImage(model) * (c.kind === 'train' ? TRAIN_FLOPS_FACTOR : 1);
  if (c.kind === 'certify') {
    const x = testImage([...dataset.shape], 3);
    const precision = bf16 ? 'bf16' : 'fp32';
    const r = engine.startsWith('pytorch')
      ? pytorchCertify(model, c.arch, dataset.normalization, x, SIGMA, c.batch, seconds, precision)
      : engine === 'onnxruntime'
        ? await onnxSampling(model, x, SIGMA, c.batch, seconds)
        : engine.startsWith('plan')
          ? await planSampling(model, x, SIGMA, c.batch, seconds, precision, planBatch)
          : await tfjsSampling(model, x, SIGMA, c.batch, seconds, precision);
    print({ ...r, flopsPerUnit });
  } else {
    if (engine === 'onnxruntime' || engine.startsWith('plan') || engine.startsWith('pytorch'))
      throw new Error(`${engine} runs the certify cases only`);
    // tfjs-wasm trains a ResNet at seconds per step: one measured step is enough for its rate.
    print({
      ...(await trainingThroughput(
        model,
        dataset.numClasses,
        c.batch,
        NUM_NOISE,
        SIGMA,
        seconds,
        engine === 'wasm' ? 1 : 2,
        bf16 ? 'bf16' : 'fp32',
      )),
      flopsPerUnit,
    });
  }
}
