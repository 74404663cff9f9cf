// Max and average pooling over NHWC and their gradients, with the tfjs CPU backend's
// semantics: max takes the first strict maximum of the window in row-major order, average
// divides by the in-bounds count forward and by the full window size backward.
#include <limits>

#include "common.h"

namespace sc {
namespace {

struct PoolShape {
  int64_t n, ih, iw, c, oh, ow, fh, fw, sh, sw, pt, pl;
  int64_t rowBegin(int64_t y) const { return std::max<int64_t>(0, y * sh - pt); }
  int64_t rowEnd(int64_t y) const { return std::min<int64_t>(ih, y * sh - pt + fh); }
  int64_t colBegin(int64_t x) const { return std::max<int64_t>(0, x * sw - pl); }
  int64_t colEnd(int64_t x) const { return std::min<int64_t>(iw, x * sw - pl + fw); }
};

// Arguments (x-like dims [n, h, w, c], y dims [n, oh, ow, c], [fh, fw, sh, sw, pt, pl]).
PoolShape readShape(const std::vector<int64_t>& x, const std::vector<int64_t>& y, const std::vector<int64_t>& p) {
  return {x[0], x[1], x[2], x[3], y[1], y[2], p[0], p[1], p[2], p[3], p[4], p[5]};
}

/**
 * For output pixel (b, oy, ox), per channel: the window's first strict maximum and its pixel
 * index r·iw + q in the image (-1 for an empty window). Branch-free so the channel loop vectorizes.
 */
void windowArgMax(const PoolShape& s, const float* x, int64_t b, int64_t oy, int64_t ox, float* best, int32_t* where) {
  for (int64_t ch = 0; ch < s.c; ++ch) {
    best[ch] = -std::numeric_limits<float>::infinity();
    where[ch] = -1;
  }
  for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
    for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
      const float* px = x + ((b * s.ih + r) * s.iw + q) * s.c;
      const int32_t pixel = static_cast<int32_t>(r * s.iw + q);
      for (int64_t ch = 0; ch < s.c; ++ch) {
        bool gt = px[ch] > best[ch];
        best[ch] = gt ? px[ch] : best[ch];
        where[ch] = gt ? pixel : where[ch];
      }
    }
  }
}

// maxPool(x, xDims, y, yDims, params)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  PoolShape s = readShape(dims(info, 1), dims(info, 3), dims(info, 4));
  const float* x = f32(info, 0);
  float* y = f32(info, 2);
  parallelFor(s.n * s.oh, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / s.oh, oy = i % s.oh;
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        float* out = y + ((b * s.oh + oy) * s.ow + ox) * s.c;
        for (int64_t ch = 0; ch < s.c; ++ch) out[ch] = -std::numeric_limits<float>::infinity();
        for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
          for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
            const float* px = x + ((b * s.ih + r) * s.iw + q) * s.c;
            // Same selection as windowArgMax (first strict maximum), branch-free.
            for (int64_t ch = 0; ch < s.c; ++ch) out[ch] = px[ch] > out[ch] ? px[ch] : out[ch];
          }
        }
      }
    }
  });
  return info.Env().Undefined();
}

// maxPoolGrad(dy, x, xDims, yDims, params, dx): routes each dy to its window's max position.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  const float* x = f32(info, 1);
  PoolShape s = readShape(dims(info, 2), dims(info, 3), dims(info, 4));
  float* dx = f32(info, 5);
  // One image per task: windows of different images never share input pixels.
  parallelFor(s.n, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> best(s.c);
    std::vector<int32_t> where(s.c);
    for (int64_t b = b0; b < b1; ++b) {
      float* image = dx + b * s.ih * s.iw * s.c;
      std::memset(image, 0, sizeof(float) * s.ih * s.iw * s.c);
      for (int64_t oy = 0; oy < s.oh; ++oy) {
        for (int64_t ox = 0; ox < s.ow; ++ox) {
          windowArgMax(s, x, b, oy, ox, best.data(), where.data());
          const float* g = dy + ((b * s.oh + oy) * s.ow + ox) * s.c;
          for (int64_t ch = 0; ch < s.c; ++ch) {
            if (where[ch] >= 0) image[where[ch] * s.c + ch] += g[ch];
          }
        }
      }
    }
  });
  return info.Env().Undefined();
}

// avgPool(x, xDims, y, yDims, params)
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  PoolShape s = readShape(dims(info, 1), dims(info, 3), dims(info, 4));
  const float* x = f32(info, 0);
  float* y = f32(info, 2);
  parallelFor(s.n * s.oh, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / s.oh, oy = i % s.oh;
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        float* out = y + ((b * s.oh + oy) * s.ow + ox) * s.c;
        for (int64_t ch = 0; ch < s.c; ++ch) out[ch] = 0.f;
        int64_t count = 0;
        for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
          for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q, ++count) {
            const float* px = x + ((b * s.ih + r) * s.iw + q) * s.c;
            for (int64_t ch = 0; ch < s.c; ++ch) out[ch] += px[ch];
          }
        }
        for (int64_t ch = 0; ch < s.c; ++ch) out[ch] /= static_cast<float>(count);
      }
    }
  });
  return info.Env().Undefined();
}

// avgPoolGrad(dy, dxDims, dyDims, params, dx)
Napi::Value AvgPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  PoolShape s = readShape(dims(info, 1), dims(info, 2), dims(info, 3));
  float* dx = f32(info, 4);
  const float scale = 1.f / static_cast<float>(s.fh * s.fw);
  parallelFor(s.n, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      std::memset(dx + b * s.ih * s.iw * s.c, 0, sizeof(float) * s.ih * s.iw * s.c);
      for (int64_t oy = 0; oy < s.oh; ++oy) {
        for (int64_t ox = 0; ox < s.ow; ++ox) {
          const float* g = dy + ((b * s.oh + oy) * s.ow + ox) * s.c;
          for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
            for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
              float* px = dx + ((b * s.ih + r) * s.iw + q) * s.c;
              for (int64_t ch = 0; ch < s.c; ++ch) px[ch] += g[ch] * scale;
            }
          }
        }
      }
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void initPool(Napi::Env env, Napi::Object exports) {
  exportFunction<MaxPool>(env, exports, "maxPool");
  exportFunction<MaxPoolGrad>(env, exports, "maxPoolGrad");
  exportFunction<AvgPool>(env, exports, "avgPool");
  exportFunction<AvgPoolGrad>(env, exports, "avgPoolGrad");
}

}  // namespace sc
