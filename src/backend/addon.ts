import { createRequire } from 'node:module';

/** Fused activations understood by the native conv and matmul (numbering of native/common.h). */
export const ACTIVATION = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 } as const;
/** Binary ops of native/eltwise.cc. */
export const BINARY = { add: 0, sub: 1, mul: 2, div: 3, max: 4, min: 5, sqdiff: 6 } as const;
/** Unary ops of native/eltwise.cc. */
export const UNARY = {
  relu: 0,
  relu6: 1,
  step: 2,
  exp: 3,
  log: 4,
  neg: 5,
  sqrt: 6,
  rsqrt: 7,
  square: 8,
  abs: 9,
  sigmoid: 10,
  tanh: 11,
  reciprocal: 12,
  leakyrelu: 13,
  elu: 14,
} as const;
/** Reductions of native/reduce.cc. */
export const REDUCE = { sum: 0, mean: 1, max: 2, min: 3, prod: 4 } as const;

type Dims = readonly number[];

/** A built native/plan.cc plan, freed when garbage-collected. */
export type NativePlanHandle = { readonly __nativePlan: unique symbol };
export interface NativePlanInfo {
  batch: number;
  bf16: boolean;
  activationBytes: number;
  steps: { kind: string; impl: string }[];
}

/**
 * The functions of the compiled addon (native/*.cc). Every tensor argument is the typed array a
 * tfjs tensor already lives in, read and written in place without copying; shapes are NHWC
 * for images and HWIO for filters, as in tfjs.
 */
export interface NativeAddon {
  /** bf16: whether the CPU runs bf16 convolutions natively (AVX512-BF16 or AMX). */
  info(): { onednn: string; threads: number; cachedPrimitives: number; bf16: boolean };
  /**
   * y = activation(conv(x, w) + bias + residual); conv params: [strideH, strideW, dilationH,
   * dilationW, padTop, padBottom, padLeft, padRight]. With bf16, x and w are rounded to bfloat16
   * (float32 accumulation and output); likewise dy and w, x and dy of the two gradients below.
   * In bf16 the activation operands (x, dy) are passed rounded already (a Uint16Array from
   * roundBf16) and read in place; in fp32 they are Float32Arrays.
   */
  conv2d(
    x: Float32Array | Uint16Array,
    xDims: Dims,
    w: Float32Array,
    wDims: Dims,
    y: Float32Array,
    yDims: Dims,
    params: Dims,
    bias: Float32Array | null,
    activation: number,
    alpha: number,
    residual: Float32Array | null,
    bf16: boolean,
  ): void;
  conv2dBackpropInput(
    dy: Float32Array | Uint16Array,
    dyDims: Dims,
    w: Float32Array,
    wDims: Dims,
    dx: Float32Array,
    dxDims: Dims,
    params: Dims,
    bf16: boolean,
  ): void;
  conv2dBackpropFilter(
    x: Float32Array | Uint16Array,
    xDims: Dims,
    dy: Float32Array | Uint16Array,
    dyDims: Dims,
    dw: Float32Array,
    wDims: Dims,
    params: Dims,
    bf16: boolean,
  ): void;
  /** dst = src rounded to bfloat16 (nearest even), as a bf16 kernel rounds its operands. */
  roundBf16(src: Float32Array, dst: Uint16Array): void;
  /**
   * a: [batchA, rows, cols], b likewise; a batch of 1 broadcasts. Bias has one value per output
   * column. With bf16, a and b are rounded to bfloat16 (float32 accumulation and output).
   */
  batchMatMul(
    a: Float32Array,
    aDims: Dims,
    b: Float32Array,
    bDims: Dims,
    c: Float32Array,
    transposeA: boolean,
    transposeB: boolean,
    bias: Float32Array | null,
    activation: number,
    alpha: number,
    bf16: boolean,
  ): void;
  /** pool params: [filterH, filterW, strideH, strideW, padTop, padLeft]. */
  maxPool(x: Float32Array, xDims: Dims, y: Float32Array, yDims: Dims, params: Dims): void;
  /** y: the forward output (each window's maximum); with stepX, dx is multiplied by step(stepX) (1 where > 0, else alpha). */
  maxPoolGrad(
    dy: Float32Array,
    x: Float32Array,
    y: Float32Array,
    xDims: Dims,
    yDims: Dims,
    params: Dims,
    dx: Float32Array,
    stepX?: Float32Array | null,
    alpha?: number,
  ): void;
  avgPool(x: Float32Array, xDims: Dims, y: Float32Array, yDims: Dims, params: Dims): void;
  avgPoolGrad(dy: Float32Array, dxDims: Dims, dyDims: Dims, params: Dims, dx: Float32Array): void;
  /**
   * A residual of x's length is added to the normalized values and relu rectifies the sum: a
   * batch norm with the residual add and the ReLU after it in one pass.
   */
  fusedBatchNorm(
    x: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    epsilon: number,
    period: number,
    relu?: boolean,
    residual?: Float32Array | null,
  ): void;
  /** x viewed as [rows, channels]: the per-channel mean and biased variance over the rows in one pass (normalizing is fusedBatchNorm's). */
  batchNormStats(x: Float32Array, channels: number, mean: Float32Array, variance: Float32Array): void;
  /** The gradient of training-mode batch norm (given its mean and variance) into dx, dscale and doffset. */
  batchNormTrainGrad(
    dy: Float32Array,
    x: Float32Array,
    channels: number,
    scale: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    epsilon: number,
    dx: Float32Array,
    dscale: Float32Array,
    doffset: Float32Array,
  ): void;
  binary(op: number, a: Float32Array, aShape: Dims, b: Float32Array, bShape: Dims, out: Float32Array, outShape: Dims): void;
  unary(op: number, x: Float32Array, y: Float32Array, alpha: number): void;
  /** out = a·step(x): a where x > 0, alpha·a elsewhere, NaN where x is NaN. */
  mulStep(a: Float32Array, x: Float32Array, alpha: number, out: Float32Array): void;
  addN(inputs: Float32Array[], out: Float32Array): void;
  /** One SGD step with momentum (src/training/sgd.ts's rule, the same float32 roundings) into wOut and bufOut. */
  sgdStep(
    w: Float32Array,
    g: Float32Array,
    buf: Float32Array,
    wOut: Float32Array,
    bufOut: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
  ): void;
  /** Copies the box of extent `box` at srcBegin in src to dstBegin in dst (4-byte elements of any dtype). */
  copyBox(src: Float32Array, srcShape: Dims, srcBegin: Dims, dst: Float32Array, dstShape: Dims, dstBegin: Dims, box: Dims): void;
  tile(x: Float32Array, shape: Dims, reps: Dims, out: Float32Array): void;
  /** Reduces x viewed as [outer, mid, inner] over mid. */
  reduce(op: number, x: Float32Array, outer: number, mid: number, inner: number, out: Float32Array): void;
  argMax(x: Float32Array, outer: number, mid: number, inner: number, out: Int32Array): void;
  softmax(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /** counts[argmax of each row] += 1, skipping rows with a non-finite logit; returns how many were skipped. */
  countArgMax(logits: Float32Array, rows: number, cols: number, counts: Float64Array): number;
  /** Builds native/plan.cc's inference plan from a spec (src/plan/spec.ts), checking each convolution. */
  createPlan(spec: object): NativePlanHandle;
  /**
   * One batch of the noise stream through the plan: samples [firstSample, firstSample + batch);
   * counts[arg-max] += 1 for the first `rows` rows (labels[r] = it, when given). Returns the rows
   * not counted for a non-finite logit.
   */
  planCount(
    plan: NativePlanHandle,
    x: Float32Array,
    seed: number,
    stream: number,
    substream: number,
    firstSample: number,
    sigma: number,
    rows: number,
    counts: Float64Array,
    labels?: Int32Array | null,
  ): number;
  /** The logits [rows × classes] of `rows` NHWC images in [0, 1]. */
  planLogits(plan: NativePlanHandle, images: Float32Array, rows: number, out: Float32Array): void;
  /** The plan's batch, precision, activation memory and each primitive's oneDNN implementation. */
  planInfo(plan: NativePlanHandle): NativePlanInfo;
  /** This machine's attainable GFLOP/s: the best oneDNN matmul of two size × size matrices over `seconds` (native/peak.cc). */
  peakMatmul(bf16: boolean, size: number, seconds: number): { gflops: number; impl: string };
  /** out[j] = sigma·z_{offset+j} of the Philox stream (seed, stream, substream); added when accumulate. */
  gaussian(out: Float32Array, seed: number, stream: number, substream: number, offset: number, sigma: number, accumulate: boolean): void;
  /** dst[s·d + i] = x[i] + sigma·z_{(firstSample + s)·d + i} for s < count, d = x.length. */
  noisyCopies(
    dst: Float32Array,
    x: Float32Array,
    count: number,
    seed: number,
    stream: number,
    substream: number,
    firstSample: number,
    sigma: number,
  ): void;
}

/** The addon, or why it could not be loaded (not built, oneDNN missing, …). */
export type AddonLoad = { addon: NativeAddon; error?: undefined } | { addon?: undefined; error: string };

let loaded: AddonLoad | undefined;

/** Loads build/Release/smoothcert_native.node once (node-gyp builds it at npm install). */
export function loadAddon(): AddonLoad {
  if (loaded) return loaded;
  const path = new URL('../../../build/Release/smoothcert_native.node', import.meta.url).pathname;
  try {
    loaded = { addon: createRequire(import.meta.url)(path) as NativeAddon };
  } catch (err) {
    loaded = { error: `${path}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
  return loaded;
}
