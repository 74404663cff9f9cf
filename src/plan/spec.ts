/**
 * What native/plan.cc builds: a base classifier as a list of a few op kinds over numbered values,
 * made by compile.ts from an ONNX graph. Value 0 is the input, float32 NHWC (the order the noise
 * is drawn in); every other value's dims are logical NCHW [C, H, W] or [F] without the batch, and
 * the native side picks each one's layout and data type. Weights are float32 in plain layouts:
 * OIHW for convolutions, [out, C, H, W] or [out, F] for inner products.
 */
export interface PlanSpec {
  /** Rows per native call: every call computes this many, whatever it counts. */
  batch: number;
  /** Convolutions and inner products in bf16 with float32 accumulation, activations bf16 between layers. */
  bf16: boolean;
  /** The input image [H, W, C]. */
  input: [number, number, number];
  /** Per-channel steps on x + σ·z before the first layer, in order (normalization outside or at the head of the graph). */
  prep: PrepStep[];
  /** Dims of each value without the batch. */
  values: number[][];
  ops: PlanOp[];
  /** The value holding the logits [classes]. */
  output: number;
}

/** The numbering of native/plan.cc's PrepOp. */
export const PREP_OP = { sub: 0, div: 1, mul: 2, add: 3 } as const;
export interface PrepStep {
  op: (typeof PREP_OP)[keyof typeof PREP_OP];
  /** One value per input channel. */
  values: Float32Array;
}

/** The numbering of native/plan.cc's pooling algorithms. */
export const POOL = { max: 0, averageInside: 1, averageWithPadding: 2 } as const;

export interface ConvOp {
  kind: 'conv';
  src: number;
  dst: number;
  weights: Float32Array;
  bias?: Float32Array;
  kernel: [number, number];
  strides: [number, number];
  /** [top, left, bottom, right] */
  pads: [number, number, number, number];
  dilations: [number, number];
  /** A value added to the output before the ReLU (a residual block's shortcut), or −1. */
  residual: number;
  relu: boolean;
}
export interface PoolOp {
  kind: 'pool';
  src: number;
  dst: number;
  algo: (typeof POOL)[keyof typeof POOL];
  kernel: [number, number];
  strides: [number, number];
  pads: [number, number, number, number];
}
export interface DenseOp {
  kind: 'dense';
  src: number;
  dst: number;
  weights: Float32Array;
  bias: Float32Array;
  relu: boolean;
}
export interface BatchnormOp {
  kind: 'batchnorm';
  src: number;
  dst: number;
  mean: Float32Array;
  variance: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  epsilon: number;
  relu: boolean;
}
export interface ReluOp {
  kind: 'relu';
  src: number;
  dst: number;
}
export interface AddOp {
  kind: 'add';
  a: number;
  b: number;
  dst: number;
  relu: boolean;
}
export interface ConcatOp {
  kind: 'concat';
  srcs: number[];
  dst: number;
}
export type PlanOp = ConvOp | PoolOp | DenseOp | BatchnormOp | ReluOp | AddOp | ConcatOp;
