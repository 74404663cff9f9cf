// Data movement on 4-byte elements (float32 or int32 bits alike): copying a box between two
// row-major arrays (Slice, the interior of PadV2) and Tile. Adjacent dimensions that are
// contiguous in both arrays are merged first, so the inner loop is one long memcpy.
#include "common.h"

namespace sc {
namespace {

/** A box copy with its dimensions merged where both layouts allow. */
struct Box {
  std::vector<int64_t> extent, srcStride, dstStride;  // per merged dim; strides in elements
  int64_t srcOffset = 0, dstOffset = 0;

  Box(const std::vector<int64_t>& srcShape, const std::vector<int64_t>& srcBegin, const std::vector<int64_t>& dstShape,
      const std::vector<int64_t>& dstBegin, const std::vector<int64_t>& box) {
    size_t r = box.size();
    std::vector<int64_t> ss(r), ds(r);
    int64_t a = 1, b = 1;
    for (size_t i = r; i-- > 0;) {
      ss[i] = a;
      ds[i] = b;
      a *= srcShape[i];
      b *= dstShape[i];
    }
    for (size_t i = 0; i < r; ++i) {
      srcOffset += srcBegin[i] * ss[i];
      dstOffset += dstBegin[i] * ds[i];
    }
    for (size_t i = 0; i < r; ++i) {
      if (box[i] == 1) continue;
      // Dimension i continues the previous one when the previous spans exactly box[i] rows of it in both arrays.
      if (!extent.empty() && srcStride.back() == ss[i] * box[i] && dstStride.back() == ds[i] * box[i] &&
          box[i] == srcShape[i] && box[i] == dstShape[i]) {
        extent.back() *= box[i];
        srcStride.back() = ss[i];
        dstStride.back() = ds[i];
      } else {
        extent.push_back(box[i]);
        srcStride.push_back(ss[i]);
        dstStride.push_back(ds[i]);
      }
    }
    if (extent.empty()) {
      extent = {1};
      srcStride = {1};
      dstStride = {1};
    }
  }
};

void copyRows(const Box& bx, const float* src, float* dst) {
  size_t r = bx.extent.size();
  int64_t inner = bx.extent[r - 1];
  bool contiguous = bx.srcStride[r - 1] == 1 && bx.dstStride[r - 1] == 1;
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; ++i) rows *= bx.extent[i];
  parallelFor(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      int64_t rem = row, s = bx.srcOffset, d = bx.dstOffset;
      for (size_t k = r - 1; k-- > 0;) {
        int64_t idx = rem % bx.extent[k];
        rem /= bx.extent[k];
        s += idx * bx.srcStride[k];
        d += idx * bx.dstStride[k];
      }
      if (contiguous) {
        std::memcpy(dst + d, src + s, sizeof(float) * inner);
      } else {
        for (int64_t i = 0; i < inner; ++i) dst[d + i * bx.dstStride[r - 1]] = src[s + i * bx.srcStride[r - 1]];
      }
    }
  });
}

// copyBox(src, srcShape, srcBegin, dst, dstShape, dstBegin, box)
Napi::Value CopyBox(const Napi::CallbackInfo& info) {
  Box bx(dims(info, 1), dims(info, 2), dims(info, 4), dims(info, 5), dims(info, 6));
  copyRows(bx, f32(info, 0), f32(info, 3));
  return info.Env().Undefined();
}

// tile(x, shape, reps, out): out[i] = x[i mod shape] over the tiled shape.
Napi::Value Tile(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  auto shape = dims(info, 1);
  auto reps = dims(info, 2);
  float* o = f32(info, 3);
  // Merge each dimension that is not repeated into its outer neighbour: repeating the merged
  // block is the same copy, done with longer memcpys.
  std::vector<int64_t> s, r;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (!s.empty() && reps[i] == 1) s.back() *= shape[i];
    else {
      s.push_back(shape[i]);
      r.push_back(reps[i]);
    }
  }
  // Copy x into the first tile, then replicate outward from the innermost dimension.
  size_t n = s.size();
  std::vector<int64_t> outShape(n), zero(n, 0);
  for (size_t i = 0; i < n; ++i) outShape[i] = s[i] * r[i];
  copyRows(Box(s, zero, outShape, zero, s), x, o);
  std::vector<int64_t> filled = s;  // the extent of o already holding tiled data
  for (size_t d = n; d-- > 0;) {
    for (int64_t k = 1; k < r[d]; ++k) {
      std::vector<int64_t> at(n, 0);
      at[d] = k * s[d];
      copyRows(Box(outShape, zero, outShape, at, filled), o, o);
    }
    filled[d] = outShape[d];
  }
  return info.Env().Undefined();
}

}  // namespace

void initCopy(Napi::Env env, Napi::Object exports) {
  exportFunction<CopyBox>(env, exports, "copyBox");
  exportFunction<Tile>(env, exports, "tile");
}

}  // namespace sc
