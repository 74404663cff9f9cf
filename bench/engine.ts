/**
 * One round of one bench case on one engine, in a process of its own so that its peak resident
 * memory is the case's alone: prints one JSON object { rate, rssGrowthMB, peakRssMB, … }.
 * Started by bench/run.ts; not meant to be run by hand.
 *
 *   node dist/bench/engine.js CASE ENGINE SECONDS      ENGINE: native | native-bf16 | wasm | onnxruntime
 */
import { loadAddon } from '../src/backend/addon.js';
import { nativeUnavailableReason, setBackend } from '../src/backend/select.js';
import { buildModel, CASES, datasetOf, NUM_NOISE, SIGMA, type CaseName } from './cases.js';
import { onnxSampling, testImage, tfjsSampling } from './certify.js';
import { forwardFlopsPerImage, TRAIN_FLOPS_FACTOR } from './flops.js';
import { trainingThroughput } from './train.js';

const [name, engine, secondsArg] = process.argv.slice(2) as [CaseName, 'native' | 'native-bf16' | 'wasm' | 'onnxruntime', string];
const c = CASES[name];
const seconds = Number(secondsArg);

function print(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

if (engine.startsWith('native') && nativeUnavailableReason() !== undefined) {
  print({ skipped: nativeUnavailableReason() });
} else if (engine === 'native-bf16' && !loadAddon().addon?.info().bf16) {
  print({ skipped: 'this CPU lacks AVX512-BF16' });
} else {
  // onnxruntime's peer takes its noise from the addon when it loads (the comparison is between inference
  // engines), and the model is built on the fastest tfjs engine available.
  await setBackend(engine === 'onnxruntime' ? (loadAddon().addon ? 'native' : 'wasm') : engine === 'native-bf16' ? 'native' : engine);
  const model = buildModel(c);
  const dataset = datasetOf(c);
  const flopsPerUnit = forwardFlopsPerImage(model) * (c.kind === 'train' ? TRAIN_FLOPS_FACTOR : 1);
  if (c.kind === 'certify') {
    const x = testImage([...dataset.shape], 3);
    const r =
      engine === 'onnxruntime'
        ? await onnxSampling(model, x, SIGMA, c.batch, seconds)
        : await tfjsSampling(model, x, SIGMA, c.batch, seconds, engine === 'native-bf16' ? 'bf16' : 'fp32');
    print({ ...r, flopsPerUnit });
  } else {
    if (engine === 'onnxruntime') throw new Error('onnxruntime is a peer of the certify cases only');
    // tfjs-wasm trains a ResNet at seconds per step: one measured step is enough for its rate.
    print({
      ...(await trainingThroughput(model, dataset.numClasses, c.batch, NUM_NOISE, SIGMA, seconds, engine === 'wasm' ? 1 : 2)),
      flopsPerUnit,
    });
  }
}
