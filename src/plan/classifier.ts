import type { NativeAddon, NativePlanHandle, NativePlanInfo } from '../backend/addon.js';
import type { ImageShape } from '../base/shapes.js';
import type { NoiseKey } from '../noise/gaussian.js';
import { argMaxRows, NonFiniteLogitsError, type BaseClassifier } from '../smoothing/classifier.js';
import type { PlanSpec } from './spec.js';

/** A base classifier run by native/plan.cc, with what the plan is made of. */
export interface PlanClassifier extends BaseClassifier {
  readonly engine: 'plan';
  info(): NativePlanInfo;
}

/**
 * The base classifier of a compiled plan. Every native call computes the plan's whole batch of
 * rows, so each noise sample meets the same primitives wherever a caller's batches start and
 * end: counts do not depend on how a run is split into batches, jobs or requests. The noise is
 * the Philox stream of noise/gaussian.ts, drawn in the addon.
 */
export function planClassifier(addon: NativeAddon, spec: PlanSpec): PlanClassifier {
  const plan: NativePlanHandle = addon.createPlan(spec);
  const [h, w, c] = spec.input;
  const inputShape: ImageShape = [h, w, c];
  const numClasses = spec.values[spec.output]![0]!;
  const d = h * w * c;
  const rows = spec.batch;
  const checkInput = (x: Float32Array) => {
    if (x.length !== d) throw new RangeError(`input has ${x.length} values, the model takes ${h}×${w}×${c} = ${d}`);
  };
  /** Samples [offset, offset + num) of the stream in the plan's rows per call: counts, and labels when given. */
  const countBatches = (
    x: Float32Array,
    sigma: number,
    key: NoiseKey,
    offset: number,
    num: number,
    counts: Float64Array,
    labels?: Int32Array,
  ) => {
    checkInput(x);
    let skipped = 0;
    for (let done = 0; done < num; done += rows) {
      const n = Math.min(rows, num - done);
      skipped += addon.planCount(
        plan,
        x,
        key.seed,
        key.stream,
        key.substream,
        offset + done,
        sigma,
        n,
        counts,
        labels?.subarray(done, done + n),
      );
    }
    if (skipped > 0) throw new NonFiniteLogitsError(skipped);
  };
  const logits = (batch: Float32Array, batchSize: number): Float32Array => {
    if (batch.length !== batchSize * d)
      throw new RangeError(`batch holds ${batch.length} values, expected ${batchSize} images of ${h}×${w}×${c}`);
    const out = new Float32Array(batchSize * numClasses);
    addon.planLogits(plan, batch, batchSize, out);
    return out;
  };
  return {
    engine: 'plan',
    inputShape,
    numClasses,
    info: () => addon.planInfo(plan),
    async logits(batch, batchSize) {
      return logits(batch, batchSize);
    },
    async classify(batch, batchSize) {
      return argMaxRows(logits(batch, batchSize), batchSize, numClasses);
    },
    async countNoisy(x, sigma, key: NoiseKey, offset, num, _batchSize, counts) {
      countBatches(x, sigma, key, offset, num, counts);
    },
    async labelsNoisy(x, sigma, key: NoiseKey, offset, num, labels) {
      countBatches(x, sigma, key, offset, num, new Float64Array(numClasses), labels);
    },
  };
}
