import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import {
  getKernel,
  util,
  type backend_util,
  type DataId,
  type DataType,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { totalmem } from 'node:os';
import type { NativeAddon } from './addon.js';
import type { Recipe } from './kernels/fusion.js';

/** The name the native backend is registered under in tfjs. */
export const NATIVE_BACKEND = 'smoothcert-native';

/**
 * Arithmetic of convolutions and inner products: fp32, or bf16 (the operands each reads rounded
 * to bfloat16, float32 accumulation and output; oneDNN's bf16 primitives), for certification and
 * training on CPUs with AVX512-BF16.
 */
export type Precision = 'fp32' | 'bf16';

/** Buffers below this size come from V8's allocator directly; recycling them gains nothing. */
const POOL_MIN_BYTES = 1 << 16;
/**
 * Upper bound on the bytes held for reuse. A training step of a CIFAR ResNet frees well over
 * 1 GiB of temporaries (tfjs's batch-norm gradient alone makes a dozen full-size tensors per
 * layer), so the bound is generous; the pool never holds more than the process's own peak.
 */
const POOL_MAX_BYTES = Math.min(2 ** 32, totalmem() / 4);

/**
 * The tfjs CPU backend with its hot kernels replaced by the oneDNN addon. Tensors stay in the
 * CPU backend's storage (JS typed arrays); native kernels read and write those arrays in place,
 * and every kernel without a native version runs the CPU backend's own implementation.
 *
 * Output buffers are recycled: a fresh large ArrayBuffer costs a page fault per 4 KiB on first
 * touch, as much time as LeNet's convolutions take. A buffer returns to the pool only when no
 * tensor references it any more (slices may share it) and its values never left the backend
 * through read/readSync (dataSync(), data() and friends return the backend's array itself).
 */
export class NativeBackend extends MathBackendCPU {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  /** Buffers this backend allocated, with the number of tensor data entries that use them. */
  private readonly users = new Map<ArrayBuffer, number>();
  private readonly escaped = new WeakSet<ArrayBuffer>();
  /** float32 copies of integer arrays that back float32 tensors (see f32). */
  private readonly converted = new WeakMap<object, Float32Array>();
  /** bf16 roundings of live tensors' values (see operand), dropped when the values are released. */
  private readonly rounded = new Map<Float32Array, Uint16Array>();

  /**
   * The precision of convolutions (forward and both gradients) and matrix products computed from
   * now on: 'bf16' only inside withPrecision('bf16', …), i.e. a bf16 classifier's forward pass or
   * a step of a bf16 training run.
   */
  precision: Precision = 'fp32';

  /** Runs `work` (synchronous: every kernel call happens inside) with convolutions and products at `precision`. */
  withPrecision<T>(precision: Precision, work: () => T): T {
    const before = this.precision;
    this.precision = precision;
    try {
      return work();
    } finally {
      this.precision = before;
    }
  }

  constructor(readonly addon: NativeAddon) {
    super();
    // The CPU backend greets its first write in Node with advice to install tfjs-node; it does
    // not apply to this backend.
    Reflect.set(this, 'firstUse', false);
  }

  /**
   * The float32 values of a tensor: the backend's own array, shared, when it is a Float32Array.
   * The CPU backend casts bool and int32 to float32 without converting (the float32 tensor
   * shares the Uint8Array or Int32Array of its source), so those are converted once here.
   */
  f32(t: TensorInfo): Float32Array {
    const values = this.data.get(t.dataId).values as Float32Array | Int32Array | Uint8Array;
    if (values instanceof Float32Array) return values;
    let converted = this.converted.get(values);
    if (converted === undefined) {
      converted = Float32Array.from(values);
      this.converted.set(values, converted);
    }
    return converted;
  }

  /**
   * A float32 tensor as a kernel at `precision` reads it. In bf16 that is the tensor's bf16
   * rounding (addon.roundBf16, nearest even, as oneDNN rounds), made on first use and kept while
   * the tensor lives: an activation read by a convolution and later by its filter gradient, or
   * an output gradient read by both gradients of a convolution, is rounded once. Values that
   * are not a Float32Array of the tensor's own (converted integers) are rounded on every call:
   * nothing would release a kept rounding of them.
   */
  operand(t: TensorInfo, precision: Precision): Float32Array | Uint16Array {
    if (precision === 'fp32') return this.f32(t);
    const values = this.data.get(t.dataId).values;
    if (!(values instanceof Float32Array)) {
      const converted = this.f32(t);
      const low = new Uint16Array(converted.length);
      this.addon.roundBf16(converted, low);
      return low;
    }
    let low = this.rounded.get(values);
    if (low === undefined) {
      low = this.allocLow(values.length);
      this.addon.roundBf16(values, low);
      this.rounded.set(values, low);
    }
    return low;
  }

  /** How many tensors have a bf16 rounding kept (operand): each is dropped with its tensor. */
  get roundedTensors(): number {
    return this.rounded.size;
  }

  /** A Uint16Array for a bf16 rounding, from the pool when large; released with its tensor (disposeData). */
  private allocLow(n: number): Uint16Array {
    const bytes = n * 2;
    if (bytes < POOL_MIN_BYTES) return new Uint16Array(n);
    const buffer = this.free.get(bytes)?.pop();
    if (buffer) this.freeBytes -= bytes;
    const low = new Uint16Array(buffer ?? new ArrayBuffer(bytes));
    this.users.set(low.buffer as ArrayBuffer, 1);
    return low;
  }

  /** A new float32 tensor whose values `fill` writes completely. */
  output(shape: number[], fill: (out: Float32Array) => void): TensorInfo {
    const values = this.alloc(util.sizeFromShape(shape));
    fill(values);
    return this.makeTensorInfo(shape, 'float32', values);
  }

  /** A float32 array with undefined contents, recycled when possible. */
  alloc(n: number): Float32Array {
    const bytes = n * 4;
    if (bytes < POOL_MIN_BYTES) return new Float32Array(n);
    const buffer = this.free.get(bytes)?.pop();
    if (buffer) {
      this.freeBytes -= bytes;
      return new Float32Array(buffer);
    }
    const fresh = new ArrayBuffer(bytes);
    this.users.set(fresh, 0);
    return new Float32Array(fresh);
  }

  /**
   * A float32 tensor computed only when its values are first read. tfjs's fused-conv gradient
   * computes the input gradient of every convolution eagerly, also of the first layer, whose
   * input (the images) needs none: deferring the work skips it there, and `deps` stay alive
   * (referenced) until the values are computed or the tensor is disposed.
   */
  lazyOutput(shape: number[], deps: TensorInfo[], fill: (out: Float32Array) => void, recipe?: Recipe): TensorInfo {
    for (const d of deps) this.incRef(d.dataId);
    const dataId = super.write(new Float32Array(0), shape, 'float32');
    // The placeholder entry is replaced; deleted first because DataStorage counts every set
    // (numDataIds, which tfjs's leak checks read, would otherwise grow with every lazy tensor).
    this.data.delete(dataId);
    this.data.set(
      dataId,
      new LazyData(
        util.sizeFromShape(shape),
        (out) => {
          fill(out);
          this.retain(out);
          for (const d of deps) this.disposeData(d.dataId);
        },
        () => {
          for (const d of deps) this.disposeData(d.dataId);
        },
        (n) => this.alloc(n),
        recipe,
      ) as unknown as ReturnType<typeof this.data.get>,
    );
    return { dataId, shape, dtype: 'float32' };
  }

  /** How a not-yet-computed lazy tensor would be computed, so a consumer can fuse it instead (kernels/fusion.ts). */
  pendingRecipe(t: TensorInfo): Recipe | undefined {
    const entry = this.data.get(t.dataId) as unknown;
    return entry instanceof LazyData && !entry.computed ? entry.recipe : undefined;
  }

  override write(values: backend_util.BackendValues, shape: number[], dtype: DataType): DataId {
    const id = super.write(values, shape, dtype);
    this.retain(values);
    return id;
  }

  override move(dataId: DataId, values: backend_util.BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    super.move(dataId, values, shape, dtype, refCount);
    this.retain(values);
  }

  override readSync(dataId: DataId): backend_util.BackendValues {
    const values = this.data.get(dataId)?.values;
    if (ArrayBuffer.isView(values)) this.escaped.add(values.buffer as ArrayBuffer);
    return super.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const entry = this.data.get(dataId) as unknown;
    // A lazy tensor disposed before anyone read it: never computed, only its inputs to let go.
    const pending = entry instanceof LazyData && !entry.computed;
    const values = pending ? undefined : (entry as { values?: backend_util.BackendValues } | undefined)?.values;
    const done = super.disposeData(dataId, force);
    if (!this.data.has(dataId)) {
      if (pending) entry.abandon();
      else if (values !== undefined) {
        const low = values instanceof Float32Array ? this.rounded.get(values) : undefined;
        if (low !== undefined) {
          this.rounded.delete(values as Float32Array);
          this.release(low);
        }
        this.release(values);
      }
    }
    return done;
  }

  private retain(values: backend_util.BackendValues | undefined): void {
    if (!ArrayBuffer.isView(values)) return;
    const count = this.users.get(values.buffer as ArrayBuffer);
    if (count !== undefined) this.users.set(values.buffer as ArrayBuffer, count + 1);
  }

  private release(values: backend_util.BackendValues | Uint16Array): void {
    if (!ArrayBuffer.isView(values)) return;
    const buffer = values.buffer as ArrayBuffer;
    const count = this.users.get(buffer);
    if (count === undefined) return;
    if (count > 1) {
      this.users.set(buffer, count - 1);
      return;
    }
    this.users.delete(buffer);
    if (this.escaped.has(buffer) || this.freeBytes + buffer.byteLength > POOL_MAX_BYTES) return;
    // Kept for reuse: registered again with no users.
    this.users.set(buffer, 0);
    const list = this.free.get(buffer.byteLength) ?? [];
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
    this.freeBytes += buffer.byteLength;
  }
}

/** Storage entry of a lazyOutput tensor: `values` runs the computation on first access. */
class LazyData {
  readonly dtype = 'float32';
  refCount = 1;
  private result: Float32Array | undefined;

  constructor(
    private readonly size: number,
    private readonly compute: (out: Float32Array) => void,
    readonly abandon: () => void,
    private readonly alloc: (n: number) => Float32Array,
    readonly recipe?: Recipe,
  ) {}

  get computed(): boolean {
    return this.result !== undefined;
  }

  get values(): Float32Array {
    if (this.result === undefined) {
      const out = this.alloc(this.size);
      this.compute(out);
      this.result = out;
    }
    return this.result;
  }
}

/** Arguments every kernel function receives, typed for one kernel. */
export interface KernelArgs<I, A = NamedAttrMap> {
  inputs: I;
  backend: NativeBackend;
  attrs: A;
}

/** The CPU backend's implementation of a kernel: the fallback for cases the addon does not cover. */
export function cpuKernel(kernelName: string): (args: KernelArgs<unknown, unknown>) => TensorInfo {
  let run: KernelFunc | undefined;
  return (args) => {
    run ??= getKernel(kernelName, 'cpu')?.kernelFunc;
    if (!run) throw new Error(`the tfjs CPU backend has no kernel ${kernelName}`);
    return run(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  };
}

/** True when every tensor is float32, the only dtype the native kernels take. */
export function allFloat32(...ts: (TensorInfo | undefined)[]): boolean {
  return ts.every((t) => t === undefined || t.dtype === 'float32');
}
