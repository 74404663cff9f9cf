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
            // The first strict maximum, as MaxPoolGrad selects it; branch-free.
            for (int64_t ch = 0; ch < s.c; ++ch) out[ch] = px[ch] > out[ch] ? px[ch] : out[ch];
          }
        }
      }
    }
  });
  return info.Env().Undefined();
}

/** Channels are handled in blocks of this many, kept in local arrays the compiler can vectorize. */
constexpr int64_t kBlock = 16;

/**
 * Windows that do not overlap (stride ≥ filter, LeNet's 2×2/2): every pixel belongs to at most
 * one window, and the window's maximum y is known from the forward pass, so a pixel receives g
 * when it equals y and no earlier pixel of its window did — rows of whole vectors, no search.
 */
void maxPoolGradDisjoint(const PoolShape& s, const float* dy, const float* x, const float* y, float* dx) {
  parallelFor(s.n * s.oh, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / s.oh, oy = i % s.oh;
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const int64_t out = ((b * s.oh + oy) * s.ow + ox) * s.c;
        for (int64_t c0 = 0; c0 < s.c; c0 += kBlock) {
          const int64_t cw = std::min(kBlock, s.c - c0);
          const float* g = dy + out + c0;
          const float* m = y + out + c0;
          // Arithmetic instead of branches: which pixel holds the maximum is data, and
          // mispredicted branches on it cost more than the work.
          int32_t open[kBlock];
          for (int64_t k = 0; k < kBlock; ++k) open[k] = -1;
          for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
            for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
              const int64_t at = ((b * s.ih + r) * s.iw + q) * s.c + c0;
              const float* px = x + at;
              float* d = dx + at;
              for (int64_t k = 0; k < cw; ++k) {
                int32_t hit = -static_cast<int32_t>(px[k] == m[k]) & open[k];
                int32_t bits;
                std::memcpy(&bits, g + k, 4);
                bits &= hit;
                std::memcpy(d + k, &bits, 4);
                open[k] &= ~hit;
              }
            }
          }
        }
      }
    }
  });
}

// maxPoolGrad(dy, x, y, xDims, yDims, params, dx): routes each dy to its window's first strict
// maximum, as the CPU backend does.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  const float* x = f32(info, 1);
  const float* y = f32(info, 2);
  PoolShape s = readShape(dims(info, 3), dims(info, 4), dims(info, 5));
  float* dx = f32(info, 6);
  if (s.sh >= s.fh && s.sw >= s.fw) {
    // Pixels outside every window (a ragged border) get no gradient.
    if (s.oh * s.sh != s.ih || s.ow * s.sw != s.iw || s.pt != 0 || s.pl != 0) {
      std::memset(dx, 0, sizeof(float) * s.n * s.ih * s.iw * s.c);
    }
    maxPoolGradDisjoint(s, dy, x, y, dx);
    return info.Env().Undefined();
  }
  // Overlapping windows: search each window and accumulate, one image per task (windows of
  // different images never share input pixels).
  parallelFor(s.n, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      float* image = dx + b * s.ih * s.iw * s.c;
      const float* input = x + b * s.ih * s.iw * s.c;
      std::memset(image, 0, sizeof(float) * s.ih * s.iw * s.c);
      for (int64_t oy = 0; oy < s.oh; ++oy) {
        for (int64_t ox = 0; ox < s.ow; ++ox) {
          const float* g = dy + ((b * s.oh + oy) * s.ow + ox) * s.c;
          for (int64_t c0 = 0; c0 < s.c; c0 += kBlock) {
            const int64_t cw = std::min(kBlock, s.c - c0);
            float best[kBlock];
            int32_t where[kBlock];
            for (int64_t k = 0; k < kBlock; ++k) {
              best[k] = -std::numeric_limits<float>::infinity();
              where[k] = -1;
            }
            for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
              for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
                const int32_t pixel = static_cast<int32_t>(r * s.iw + q);
                const float* px = input + pixel * s.c + c0;
                for (int64_t k = 0; k < cw; ++k) {
                  bool gt = px[k] > best[k];
                  best[k] = gt ? px[k] : best[k];
                  where[k] = gt ? pixel : where[k];
                }
              }
            }
            // Add g where the pixel is the channel's maximum: masked vector adds, no scatter.
            for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
              for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
                const int32_t pixel = static_cast<int32_t>(r * s.iw + q);
                float* d = image + pixel * s.c + c0;
                for (int64_t k = 0; k < cw; ++k) d[k] += where[k] == pixel ? g[c0 + k] : 0.f;
              }
            }
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
