import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import {
  backend_util,
  BatchMatMul,
  Conv2DBackpropFilter,
  getKernel,
  MaxPoolGrad,
  registerKernel,
  unregisterKernel,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** Patch matrices are built a few filter taps at a time to bound the wasm heap they take. */
const PATCH_FLOATS = 1 << 24;

/**
 * The filter gradient of a 2-D NHWC convolution, which tfjs-wasm lacks, so that training runs on
 * the wasm fallback. For filter tap (r, c) the gradient slice dW[r, c] (inC × outC) is
 * Pᵀ·dY, where P holds, for every output pixel, the input pixel that tap reads (zero in the
 * padding) and dY is the output gradient as [pixels, outC]; the products run on wasm's own
 * BatchMatMul, several taps per call.
 */
function conv2DBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const {
    inputs: { x, dy },
    backend,
    attrs,
  } = args;
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const [fh, fw, inC, outC] = attrs.filterShape;
  const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = info;
  const pixels = batchSize * outHeight * outWidth;
  const matMul = getKernel(BatchMatMul, 'wasm')!.kernelFunc;
  const dyMatrix: TensorInfo = { dataId: dy.dataId, shape: [1, pixels, outC], dtype: 'float32' };
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const taps = fh * fw;
  const perCall = Math.max(1, Math.min(taps, Math.floor(PATCH_FLOATS / (pixels * inC))));
  for (let first = 0; first < taps; first += perCall) {
    const count = Math.min(perCall, taps - first);
    const patches = backend.makeOutput([count, pixels, inC], 'float32');
    // Views are taken after every allocation: growing the wasm heap detaches older ones.
    const p = backend.typedArrayFromHeap(patches) as Float32Array;
    const xv = backend.typedArrayFromHeap(x) as Float32Array;
    for (let t = 0; t < count; t++) {
      const r = Math.floor((first + t) / fw),
        c = (first + t) % fw;
      let row = t * pixels * inC;
      for (let b = 0; b < batchSize; b++) {
        for (let oy = 0; oy < outHeight; oy++) {
          const iy = oy * strideHeight - info.padInfo.top + r;
          for (let ox = 0; ox < outWidth; ox++, row += inC) {
            const ix = ox * strideWidth - info.padInfo.left + c;
            if (iy < 0 || iy >= inHeight || ix < 0 || ix >= inWidth) p.fill(0, row, row + inC);
            else {
              const src = ((b * inHeight + iy) * inWidth + ix) * inC;
              p.set(xv.subarray(src, src + inC), row);
            }
          }
        }
      }
    }
    const grads = matMul({ inputs: { a: patches, b: dyMatrix }, backend, attrs: { transposeA: true, transposeB: false } }) as TensorInfo;
    const outView = backend.typedArrayFromHeap(out) as Float32Array;
    outView.set(backend.typedArrayFromHeap(grads) as Float32Array, first * inC * outC);
    backend.disposeData(patches.dataId);
    backend.disposeData(grads.dataId);
  }
  return out;
}

const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};

/**
 * The max-pool gradient with the CPU backend's rule: each output's gradient goes to the first
 * strict maximum of its window. tfjs-wasm 4.22's own kernel drops the gradient of windows whose
 * maximum is negative, which the kernel parity tests caught.
 */
function maxPoolGrad(args: { inputs: { dy: TensorInfo; input: TensorInfo }; backend: BackendWasm; attrs: MaxPoolGradAttrs }): TensorInfo {
  const {
    inputs: { dy, input },
    backend,
    attrs,
  } = args;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const dx = backend.makeOutput(input.shape, 'float32');
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  out.fill(0);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const r0 = Math.max(0, oy * strideHeight - info.padInfo.top),
        r1 = Math.min(inHeight, oy * strideHeight - info.padInfo.top + filterHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const c0 = Math.max(0, ox * strideWidth - info.padInfo.left),
          c1 = Math.min(inWidth, ox * strideWidth - info.padInfo.left + filterWidth);
        const gOffset = ((b * outHeight + oy) * outWidth + ox) * ch;
        for (let d = 0; d < ch; d++) {
          let best = -Infinity,
            at = -1;
          for (let r = r0; r < r1; r++) {
            for (let c = c0; c < c1; c++) {
              const i = ((b * inHeight + r) * inWidth + c) * ch + d;
              if (x[i]! > best) {
                best = x[i]!;
                at = i;
              }
            }
          }
          if (at >= 0) out[at]! += g[gOffset + d]!;
        }
      }
    }
  }
  return dx;
}

const maxPoolGradConfig: KernelConfig = { kernelName: MaxPoolGrad, backendName: 'wasm', kernelFunc: maxPoolGrad as unknown as KernelFunc };

let registered = false;
/** Adds the kernels tfjs-wasm lacks or gets wrong for training (idempotent). */
export function registerWasmExtras(): void {
  if (registered) return;
  registerKernel(conv2DBackpropFilterConfig);
  unregisterKernel(MaxPoolGrad, 'wasm');
  registerKernel(maxPoolGradConfig);
  registered = true;
}
