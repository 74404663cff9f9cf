import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { loadAddon } from '../src/backend/addon.js';
import { nativeClassifier } from '../src/backend/native-classifier.js';
import type { Precision } from '../src/backend/native-backend.js';
import { noisyCopies, SUBSTREAM, type NoiseKey } from '../src/noise/gaussian.js';
import { exportOnnx } from '../src/onnx/export.js';
import { planFromModel } from '../src/plan/build.js';
import { timeIt, type Measurement } from './measure.js';

/** Certification sampling: noise + forward + arg-max counts, `batch` samples per call; the rate is in images per second. */
export interface SamplingResult extends Measurement {
  /** Counts of the warm-up call (the first `batch` samples of the estimation stream), to compare engines' agreement. */
  counts: number[];
}

/**
 * Through the tfjs backend that is active (native: the countNoisy fast path, convolutions at
 * `precision`; wasm: the portable path).
 */
export async function tfjsSampling(
  model: tfl.LayersModel,
  x: Float32Array,
  sigma: number,
  batch: number,
  seconds: number,
  precision: Precision = 'fp32',
): Promise<SamplingResult> {
  const classifier = nativeClassifier(model, undefined, { precision });
  const key: NoiseKey = { seed: 0, stream: 0, substream: SUBSTREAM.estimate };
  let offset = 0;
  let first: number[] | undefined;
  const measured = await timeIt(async () => {
    const counts = new Float64Array(classifier.numClasses);
    await classifier.countNoisy!(x, sigma, key, offset, batch, batch, counts);
    offset += batch;
    first ??= Array.from(counts);
    return batch;
  }, seconds);
  return { ...measured, counts: first! };
}

/**
 * Through the native inference plan (src/plan/, native/plan.cc): one native call per plan batch
 * for noise, normalization, every layer and the counts; `planBatch` overrides its default.
 */
export async function planSampling(
  model: tfl.LayersModel,
  x: Float32Array,
  sigma: number,
  batch: number,
  seconds: number,
  precision: Precision,
  planBatch?: number,
): Promise<SamplingResult & { planBatch: number; activationMB: number }> {
  const plan = planFromModel(model, { precision, ...(planBatch ? { batch: planBatch } : {}) });
  const key: NoiseKey = { seed: 0, stream: 0, substream: SUBSTREAM.estimate };
  let offset = 0;
  let first: number[] | undefined;
  const measured = await timeIt(async () => {
    const counts = new Float64Array(plan.numClasses);
    await plan.countNoisy!(x, sigma, key, offset, batch, batch, counts);
    offset += batch;
    first ??= Array.from(counts);
    return batch;
  }, seconds);
  const info = plan.info();
  return { ...measured, counts: first!, planBatch: info.batch, activationMB: info.activationBytes / 2 ** 20 };
}

/**
 * The same network exported to ONNX (src/onnx/export.ts) on onnxruntime-node with both cores.
 * Noise comes from the addon when it loads (so the comparison is between inference engines),
 * else from fillGaussian; the arg-max count runs in JS over the [batch, classes] logits.
 */
export async function onnxSampling(
  model: tfl.LayersModel,
  x: Float32Array,
  sigma: number,
  batch: number,
  seconds: number,
): Promise<SamplingResult & { noise: 'native' | 'js' }> {
  const session = await ort.InferenceSession.create(exportOnnx(model), {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const [h, w, c] = model.inputs[0]!.shape.slice(1) as number[];
  const k = model.outputs[0]!.shape[1]!;
  const d = x.length;
  const input = new Float32Array(batch * d);
  const addon = loadAddon().addon;
  const key: NoiseKey = { seed: 0, stream: 0, substream: SUBSTREAM.estimate };
  let offset = 0;
  let first: number[] | undefined;
  try {
    const measured = await timeIt(async () => {
      if (addon) addon.noisyCopies(input, x, batch, key.seed, key.stream, key.substream, offset, sigma);
      else {
        noisyCopies(input, x, key, offset, sigma);
      }
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [batch, h!, w!, c!]) });
      const logits = out[session.outputNames[0]!]!.data as Float32Array;
      const counts = new Array<number>(k).fill(0);
      for (let r = 0; r < batch; r++) {
        let best = 0;
        for (let j = 1; j < k; j++) if (logits[r * k + j]! > logits[r * k + best]!) best = j;
        counts[best]!++;
      }
      offset += batch;
      first ??= counts;
      return batch;
    }, seconds);
    return { ...measured, counts: first!, noise: addon ? 'native' : 'js' };
  } finally {
    await session.release();
  }
}

/** A fixed test image in [0, 1] (seeded), the x that certification perturbs. */
export function testImage(shape: number[], seed: number): Float32Array {
  return tf.tidy(() => tf.randomUniform(shape, 0, 1, 'float32', seed).dataSync() as Float32Array).slice();
}
