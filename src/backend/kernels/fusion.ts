import { util, type TensorInfo } from '@tensorflow/tfjs-core';
import { ACTIVATION, UNARY } from '../addon.js';
import type { NativeBackend } from '../native-backend.js';
import { perChannel } from './fused-attrs.js';

/*
 * The one home of the native backend's fusions across kernels.
 *
 * Under a gradient tape tfjs runs a layer as separate kernels (Conv2D, Add of the bias, Relu;
 * on the way back Step, Multiply, MaxPoolGrad), each a pass over the activations. Some kernels
 * therefore return lazy tensors (NativeBackend.lazyOutput) tagged with a Recipe: how they would
 * be computed. A consumer kernel that finds a pending recipe among its inputs computes both in
 * one native pass, and the lazy tensor is never written unless something else reads it:
 *
 *   zero PadV2(H, W) → conv          the padding becomes the convolution's own   (unpadded)
 *   Conv2D → Add(per-channel bias)   folds the bias into the convolution        (foldBias)
 *   conv → batch norm (inference)    scales the filter, shifts the bias         (foldBatchNorm)
 *   conv → Add(residual)             oneDNN's binary-add post-op adds it        (foldResidual)
 *   Conv2D(+bias) → Relu             one oneDNN primitive with a ReLU post-op   (reluOfPending)
 *   batch norm (training) → Add      adds a residual in the normalizing pass    (foldResidual)
 *   batch norm(+residual) → Relu     rectified in the same pass                 (reluOfPending)
 *   Step(x)                          reads a ReLU output computed as above      (pendingStep)
 *   Step × dy                        dy·[x > 0] without materializing the mask  (multiplyByStep)
 *   MaxPoolGrad × Step               routes the gradient and masks it in one pass
 *
 * The kernels that create recipes (conv.ts, pool.ts, batchnorm.ts, elementwise.ts's Step) and
 * those that consume them (elementwise.ts's Add, Relu, Multiply) call the functions below.
 */

export type Recipe = StepRecipe | PadRecipe | ConvRecipe | BatchNormRecipe | MaxPoolGradRecipe;

/** x [N, H, W, C] with zero rows and columns added around each image (PyTorch's padding of a strided convolution). */
export interface PadRecipe {
  kind: 'pad';
  x: TensorInfo;
  /** [top, bottom, left, right]. */
  pads: [number, number, number, number];
}

/** step(x): 1 where x > 0, else alpha (ReLU's gradient mask). */
export interface StepRecipe {
  kind: 'step';
  x: TensorInfo;
  alpha: number;
}

/**
 * A convolution, plus a per-channel bias once an Add (or an inference batch norm) has folded one
 * in, plus a `residual` of its shape once an Add has folded one in; `relu` is the ReLU of this
 * tensor when a Relu kernel has computed it directly (step of either is the same).
 */
export interface ConvRecipe {
  kind: 'conv';
  x: TensorInfo;
  filter: TensorInfo;
  /** The addon's conv params for this geometry. */
  params: number[];
  bias?: TensorInfo;
  residual?: TensorInfo;
  relu?: TensorInfo;
  /** Computed in bf16: the backend's precision when the kernel ran (NativeBackend.precision). */
  bf16?: true;
}

/**
 * The output of a training-mode batch norm whose statistics are computed: one pass over x
 * normalizes it, plus a `residual` of its shape once an Add has folded one in; `relu` is the
 * ReLU of this tensor when a Relu kernel has computed that directly (the tensor itself is then
 * never written unless read).
 */
export interface BatchNormRecipe {
  kind: 'batchNorm';
  x: TensorInfo;
  mean: TensorInfo;
  variance: TensorInfo;
  scale: TensorInfo;
  offset: TensorInfo;
  epsilon: number;
  residual?: TensorInfo;
  relu?: TensorInfo;
}

/** The gradient of a max-pool, which a ReLU gradient can multiply in the same pass. */
export interface MaxPoolGradRecipe {
  kind: 'maxPoolGrad';
  dy: TensorInfo;
  input: TensorInfo;
  output: TensorInfo;
  /** The addon's pool params for this geometry. */
  params: number[];
}

/** Computes a conv recipe (with its bias and residual, if folded in) into y, followed by `activation`. */
export function convInto(backend: NativeBackend, r: ConvRecipe, y: Float32Array, outShape: number[], activation: number): void {
  backend.addon.conv2d(
    backend.operand(r.x, r.bf16 ? 'bf16' : 'fp32'),
    r.x.shape,
    backend.f32(r.filter),
    r.filter.shape,
    y,
    outShape,
    r.params,
    r.bias ? backend.f32(r.bias) : null,
    activation,
    0,
    r.residual ? backend.f32(r.residual) : null,
    r.bf16 === true,
  );
}

/** Computes a batch-norm recipe (with its residual, if folded in) into y, rectified when `relu`. */
function batchNormInto(backend: NativeBackend, r: BatchNormRecipe, y: Float32Array, relu: boolean): void {
  backend.addon.fusedBatchNorm(
    backend.f32(r.x),
    y,
    backend.f32(r.mean),
    backend.f32(r.variance),
    backend.f32(r.offset),
    backend.f32(r.scale),
    r.epsilon,
    util.sizeFromShape(r.mean.shape),
    relu,
    r.residual ? backend.f32(r.residual) : null,
  );
}

/** A lazy batch-norm output of `recipe`: written only if something other than a fusing consumer reads it. */
export function pendingBatchNorm(backend: NativeBackend, recipe: BatchNormRecipe): TensorInfo {
  const { x, mean, variance, scale, offset, residual } = recipe;
  const deps = residual ? [x, mean, variance, scale, offset, residual] : [x, mean, variance, scale, offset];
  return backend.lazyOutput(x.shape, deps, (y) => batchNormInto(backend, recipe, y, false), recipe);
}

/** Computes a max-pool gradient recipe into dx, multiplied by step(stepX) when given (ReLU's gradient). */
export function maxPoolGradInto(
  backend: NativeBackend,
  r: MaxPoolGradRecipe,
  dx: Float32Array,
  dxShape: number[],
  stepX?: TensorInfo,
  alpha = 0,
): void {
  backend.addon.maxPoolGrad(
    backend.f32(r.dy),
    backend.f32(r.input),
    backend.f32(r.output),
    dxShape,
    r.output.shape,
    r.params,
    dx,
    stepX ? backend.f32(stepX) : null,
    alpha,
  );
}

/**
 * A convolution's input and addon params with a pending zero padding of x taken into the
 * convolution's own padding (oneDNN pads any amount on each side), so the padded copy of x is
 * never written unless something else reads it (the filter gradient in training does).
 */
export function unpadded(backend: NativeBackend, x: TensorInfo, params: number[]): { x: TensorInfo; params: number[] } {
  const r = backend.pendingRecipe(x);
  if (r?.kind !== 'pad') return { x, params };
  const [top, bottom, left, right] = r.pads;
  const [sh, sw, dh, dw, pt, pb, pl, pr] = params as [number, number, number, number, number, number, number, number];
  return { x: r.x, params: [sh, sw, dh, dw, pt + top, pb + bottom, pl + left, pr + right] };
}

/** A lazy convolution tensor of `recipe`: written only if something reads it unfused. */
export function pendingConv(backend: NativeBackend, recipe: ConvRecipe, outShape: number[]): TensorInfo {
  const deps = [recipe.x, recipe.filter, recipe.bias, recipe.residual].filter((t): t is TensorInfo => t !== undefined);
  return backend.lazyOutput(outShape, deps, (y) => convInto(backend, recipe, y, outShape, ACTIVATION.linear), recipe);
}

/**
 * The pending convolution `conv` with the per-channel `bias` folded in, or undefined when conv
 * is not a pending bias-free convolution or bias does not broadcast over its channels.
 */
export function foldBias(backend: NativeBackend, conv: TensorInfo, bias: TensorInfo): TensorInfo | undefined {
  const r = backend.pendingRecipe(conv);
  if (r?.kind !== 'conv' || r.bias !== undefined || bias.dtype !== 'float32') return undefined;
  if (bias.shape.length > conv.shape.length || !perChannel(bias, r.filter.shape[3]!)) return undefined;
  return pendingConv(backend, { ...r, bias }, conv.shape);
}

/**
 * The pending batch norm or convolution `pending` plus `residual` (a residual block's shortcut:
 * same shape, no broadcasting), as one pending tensor; undefined when `pending` is neither, or
 * already has a residual or a computed ReLU.
 */
export function foldResidual(backend: NativeBackend, pending: TensorInfo, residual: TensorInfo): TensorInfo | undefined {
  const r = backend.pendingRecipe(pending);
  if (
    (r?.kind !== 'batchNorm' && r?.kind !== 'conv') ||
    r.residual !== undefined ||
    r.relu !== undefined ||
    residual.dtype !== 'float32' ||
    !util.arraysEqual(pending.shape, residual.shape)
  ) {
    return undefined;
  }
  if (r.kind === 'conv') {
    const { x, filter, params, bias, bf16 } = r;
    return pendingConv(
      backend,
      { kind: 'conv', x, filter, params, ...(bias ? { bias } : {}), residual, ...(bf16 ? { bf16 } : {}) },
      pending.shape,
    );
  }
  const { x, mean, variance, scale, offset, epsilon } = r;
  return pendingBatchNorm(backend, { kind: 'batchNorm', x, mean, variance, scale, offset, epsilon, residual });
}

/** An inference batch norm's per-channel statistics and affine parameters (tfjs's FusedBatchNorm inputs). */
export interface BatchNormParams {
  mean: TensorInfo;
  variance: TensorInfo;
  offset?: TensorInfo;
  scale?: TensorInfo;
  epsilon: number;
}

/**
 * An inference batch norm of the pending convolution `conv` as one pending convolution:
 * (conv(x, W) + b − μ)·γ/√(σ² + ε) + β = conv(x, W·s) + (b − μ)·s + β with s = γ/√(σ² + ε) per
 * output channel, so a ResNet's conv → BN → ReLU (→ + shortcut) is one oneDNN primitive at
 * certification time, as onnxruntime folds it when it loads a model. Undefined unless conv is a
 * pending convolution without residual or computed ReLU and every parameter has one value per
 * output channel. The scaled filter is a new small tensor, recomputed per call (a 3×3×64×64
 * filter is 37k multiplications next to the convolution's 10⁹ at batch 400).
 */
export function foldBatchNorm(backend: NativeBackend, conv: TensorInfo, bn: BatchNormParams): TensorInfo | undefined {
  const r = backend.pendingRecipe(conv);
  if (r?.kind !== 'conv' || r.residual !== undefined || r.relu !== undefined) return undefined;
  const channels = r.filter.shape[3]!;
  const params = [bn.mean, bn.variance, bn.offset, bn.scale].filter((t): t is TensorInfo => t !== undefined);
  if (params.some((t) => t.dtype !== 'float32' || !perChannel(t, channels))) return undefined;
  const mean = backend.f32(bn.mean),
    variance = backend.f32(bn.variance);
  const offset = bn.offset ? backend.f32(bn.offset) : undefined,
    gamma = bn.scale ? backend.f32(bn.scale) : undefined;
  const oldBias = r.bias ? backend.f32(r.bias) : undefined;
  const s = new Float32Array(channels);
  for (let c = 0; c < channels; c++) s[c] = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + bn.epsilon);
  const w = backend.f32(r.filter);
  const filter = backend.output(r.filter.shape, (out) => {
    for (let i = 0; i < out.length; i++) out[i] = w[i]! * s[i % channels]!; // HWIO: output channel is the last axis
  });
  const bias = backend.output([channels], (out) => {
    for (let c = 0; c < channels; c++) out[c] = ((oldBias ? oldBias[c]! : 0) - mean[c]!) * s[c]! + (offset ? offset[c]! : 0);
  });
  const folded = pendingConv(
    backend,
    { kind: 'conv', x: r.x, filter, params: r.params, bias, ...(r.bf16 ? { bf16: r.bf16 } : {}) },
    conv.shape,
  );
  // The pending convolution holds its own references; these go with it.
  backend.disposeData(filter.dataId);
  backend.disposeData(bias.dataId);
  return folded;
}

/**
 * ReLU of a pending convolution (conv, bias and ReLU in one primitive) or batch norm (normalized,
 * residual added, rectified in one pass), the pending output itself left unwritten.
 */
export function reluOfPending(backend: NativeBackend, x: TensorInfo): TensorInfo | undefined {
  const r = backend.pendingRecipe(x);
  if ((r?.kind !== 'conv' && r?.kind !== 'batchNorm') || r.relu !== undefined) return undefined;
  const out = backend.output(x.shape, (y) => {
    if (r.kind === 'conv') convInto(backend, r, y, x.shape, ACTIVATION.relu);
    else batchNormInto(backend, r, y, true);
  });
  r.relu = out;
  return out;
}

/**
 * step(x) as a lazy tensor. step(x) = step(relu(x)) bit for bit: a convolution or batch norm
 * whose ReLU was computed directly (reluOfPending) keeps its own output unwritten, and the mask
 * reads the ReLU output instead.
 */
export function pendingStep(backend: NativeBackend, input: TensorInfo, alpha: number): TensorInfo {
  const r = backend.pendingRecipe(input);
  const relu = r?.kind === 'conv' || r?.kind === 'batchNorm' ? r.relu : undefined;
  const x = relu !== undefined && backend.data.has(relu.dataId) ? relu : input;
  return backend.lazyOutput(x.shape, [x], (y) => backend.addon.unary(UNARY.step, backend.f32(x), y, alpha), { kind: 'step', x, alpha });
}

/**
 * a·b where one side is a pending step mask (ReLU's gradient is dy·step(x) in tfjs): dy·[x > 0]
 * in one pass, and when dy is itself a pending max-pool gradient, routing and masking in one
 * pass. Undefined when neither side is a pending step of the other's shape.
 */
export function multiplyByStep(backend: NativeBackend, a: TensorInfo, b: TensorInfo): TensorInfo | undefined {
  for (const [mask, other] of [
    [b, a],
    [a, b],
  ] as const) {
    const recipe = backend.pendingRecipe(mask);
    if (recipe?.kind !== 'step' || other.dtype !== 'float32' || !util.arraysEqual(mask.shape, other.shape)) continue;
    const pool = backend.pendingRecipe(other);
    if (pool?.kind === 'maxPoolGrad') {
      return backend.output(other.shape, (out) => maxPoolGradInto(backend, pool, out, other.shape, recipe.x, recipe.alpha));
    }
    return backend.output(other.shape, (out) => backend.addon.mulStep(backend.f32(other), backend.f32(recipe.x), recipe.alpha, out));
  }
  return undefined;
}
