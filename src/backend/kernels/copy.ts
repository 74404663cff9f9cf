import {
  backend_util,
  Concat,
  PadV2,
  Slice,
  slice_util,
  SplitV,
  Tile,
  util,
  type ConcatAttrs,
  type KernelConfig,
  type KernelFunc,
  type PadV2Attrs,
  type SliceAttrs,
  type SplitVAttrs,
  type TensorInfo,
  type TileAttrs,
} from '@tensorflow/tfjs-core';
import { NATIVE_BACKEND, cpuKernel, type KernelArgs, type NativeBackend } from '../native-backend.js';

// Data movement copies bits, so float32 and int32 tensors take the same native path.

/**
 * The 4-byte values of a float32 or int32 tensor as a Float32Array view (bits unchanged). A
 * tensor cast without conversion (bool → int32) still holds its source's array: it is widened.
 */
function bits(backend: NativeBackend, t: TensorInfo): Float32Array {
  if (t.dtype === 'float32') return backend.f32(t);
  const v = backend.data.get(t.dataId).values as Int32Array | Uint8Array;
  const ints = v instanceof Int32Array ? v : Int32Array.from(v);
  return new Float32Array(ints.buffer, ints.byteOffset, ints.length);
}

function movable(t: TensorInfo): boolean {
  return (t.dtype === 'float32' || t.dtype === 'int32') && t.shape.length > 0 && util.sizeFromShape(t.shape) > 0;
}

/** A new tensor of t's dtype whose 4-byte values `fill` writes through a Float32Array view. */
function outputLike(backend: NativeBackend, t: TensorInfo, shape: number[], fill: (out: Float32Array) => void): TensorInfo {
  const values = backend.alloc(util.sizeFromShape(shape));
  fill(values);
  return backend.makeTensorInfo(
    shape,
    t.dtype,
    t.dtype === 'float32' ? values : new Int32Array(values.buffer, values.byteOffset, values.length),
  );
}

const cpuSlice = cpuKernel(Slice);
function slice(args: KernelArgs<{ x: TensorInfo }, SliceAttrs>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs,
  } = args;
  if (!movable(x)) return cpuSlice(args);
  const [begin, size] = slice_util.parseSliceParams(
    x as unknown as Parameters<typeof slice_util.parseSliceParams>[0],
    attrs.begin,
    attrs.size,
  );
  // A slice that is one contiguous run costs nothing on the CPU backend (it shares the buffer).
  if (size.some((s) => s === 0) || slice_util.isSliceContinous(x.shape, begin, size)) return cpuSlice(args);
  return outputLike(backend, x, size, (out) =>
    backend.addon.copyBox(
      bits(backend, x),
      x.shape,
      begin,
      out,
      size,
      size.map(() => 0),
      size,
    ),
  );
}

/*
 * Concat and its gradient SplitV join and cut along one axis: DenseNet concatenates every layer's
 * output to its input along the channel axis (NHWC's last), which the CPU backend does one row of
 * channels at a time (and SplitV element by element), seconds per training step. Both are box copies.
 */
const cpuConcat = cpuKernel(Concat);
function concat(args: KernelArgs<TensorInfo[], ConcatAttrs>): TensorInfo {
  const { inputs, backend, attrs } = args;
  const first = inputs[0];
  if (first === undefined || inputs.some((t) => !movable(t) || t.dtype !== first.dtype || t.shape.length !== first.shape.length)) {
    return cpuConcat(args);
  }
  const axis = util.parseAxisParam(attrs.axis, first.shape)[0]!;
  const outShape = backend_util.computeOutShape(
    inputs.map((t) => t.shape),
    axis,
  );
  return outputLike(backend, first, outShape, (out) => {
    let offset = 0;
    for (const t of inputs) {
      const begin = t.shape.map((_, i) => (i === axis ? offset : 0));
      backend.addon.copyBox(
        bits(backend, t),
        t.shape,
        t.shape.map(() => 0),
        out,
        outShape,
        begin,
        t.shape,
      );
      offset += t.shape[axis]!;
    }
  });
}

const cpuSplitV = cpuKernel(SplitV);
function splitV(args: KernelArgs<{ x: TensorInfo }, SplitVAttrs>): TensorInfo[] {
  const {
    inputs: { x },
    backend,
    attrs,
  } = args;
  if (!movable(x)) return cpuSplitV(args) as unknown as TensorInfo[];
  const axis = util.parseAxisParam(attrs.axis, x.shape)[0]!;
  const sizes = backend_util.prepareSplitSize(
    x as unknown as Parameters<typeof backend_util.prepareSplitSize>[0],
    attrs.numOrSizeSplits,
    axis,
  );
  let offset = 0;
  return sizes.map((size) => {
    const shape = x.shape.map((d, i) => (i === axis ? size : d));
    const begin = x.shape.map((_, i) => (i === axis ? offset : 0));
    offset += size;
    return slice({ inputs: { x }, backend, attrs: { begin, size: shape } });
  });
}

const cpuPadV2 = cpuKernel(PadV2);
function padV2(args: KernelArgs<{ x: TensorInfo }, PadV2Attrs>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs: { paddings, constantValue },
  } = args;
  if (!movable(x)) return cpuPadV2(args);
  const outShape = x.shape.map((d, i) => paddings[i]![0] + d + paddings[i]![1]);
  const before = paddings.map((p) => p[0]);
  const fill = (out: Float32Array) => {
    if (x.dtype === 'float32') out.fill(constantValue);
    else new Int32Array(out.buffer, out.byteOffset, out.length).fill(constantValue);
    backend.addon.copyBox(
      bits(backend, x),
      x.shape,
      x.shape.map(() => 0),
      out,
      outShape,
      before,
      x.shape,
    );
  };
  // Zeros around NHWC images (a ZeroPadding2D before a strided convolution) stay pending: the
  // convolution that reads them pads by itself (fusion.ts unpadded).
  const [n, h, w, c] = paddings;
  if (x.dtype === 'float32' && constantValue === 0 && x.shape.length === 4 && n![0] + n![1] + c![0] + c![1] === 0) {
    return backend.lazyOutput(outShape, [x], fill, { kind: 'pad', x, pads: [h![0], h![1], w![0], w![1]] });
  }
  return outputLike(backend, x, outShape, fill);
}

const cpuTile = cpuKernel(Tile);
function tile(args: KernelArgs<{ x: TensorInfo }, TileAttrs>): TensorInfo {
  const {
    inputs: { x },
    backend,
    attrs: { reps },
  } = args;
  if (!movable(x) || reps.some((r) => r === 0)) return cpuTile(args);
  const outShape = x.shape.map((d, i) => d * reps[i]!);
  return outputLike(backend, x, outShape, (out) => backend.addon.tile(bits(backend, x), x.shape, reps, out));
}

export const sliceConfig: KernelConfig = { kernelName: Slice, backendName: NATIVE_BACKEND, kernelFunc: slice as unknown as KernelFunc };
export const concatConfig: KernelConfig = { kernelName: Concat, backendName: NATIVE_BACKEND, kernelFunc: concat as unknown as KernelFunc };
export const splitVConfig: KernelConfig = { kernelName: SplitV, backendName: NATIVE_BACKEND, kernelFunc: splitV as unknown as KernelFunc };
export const padV2Config: KernelConfig = { kernelName: PadV2, backendName: NATIVE_BACKEND, kernelFunc: padV2 as unknown as KernelFunc };
export const tileConfig: KernelConfig = { kernelName: Tile, backendName: NATIVE_BACKEND, kernelFunc: tile as unknown as KernelFunc };
