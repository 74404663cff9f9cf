// Max and average pooling over NHWC and their gradients, with the tfjs CPU backend's
// semantics: max takes the first strict maximum of the window in row-major order, average
// divides by the in-bounds count forward and by the full window size backward.
#include <algorithm>
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

// The channel loops live in plain functions over [0, c): GCC 12 does not if-convert (and so
// does not vectorize) them written inline in the parallel lambdas.

/** out[k] = max(out[k], px[k]) keeping the first strict maximum, as MaxPoolGrad selects it. */
void maxInto(float* out, const float* px, int64_t c) {
  for (int64_t k = 0; k < c; ++k) out[k] = px[k] > out[k] ? px[k] : out[k];
}

/** out[k] += px[k] over [0, c). */
void addInto(float* out, const float* px, int64_t c) {
  for (int64_t k = 0; k < c; ++k) out[k] += px[k];
}

/**
 * The forward pass both poolings share: for every output pixel, out = init, then
 * visit(out, px, c) for each input pixel px of its window, then finish(out, c, count).
 * Pass lambdas (each its own type, so the call inlines), not function pointers.
 */
template <class Visit, class Finish>
void poolForward(const PoolShape& s, const float* x, float* y, float init, Visit visit, Finish finish) {
  parallelFor(s.n * s.oh, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / s.oh, oy = i % s.oh;
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        float* out = y + ((b * s.oh + oy) * s.ow + ox) * s.c;
        std::fill(out, out + s.c, init);
        int64_t count = 0;
        for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
          for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q, ++count) visit(out, x + ((b * s.ih + r) * s.iw + q) * s.c, s.c);
        }
        finish(out, s.c, count);
      }
    }
  });
}

// maxPool(x, xDims, y, yDims, params)
Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  PoolShape s = readShape(dims(info, 1), dims(info, 3), dims(info, 4));
  poolForward(s, f32(info, 0), f32(info, 2), -std::numeric_limits<float>::infinity(),
              [](float* out, const float* px, int64_t c) { maxInto(out, px, c); }, [](float*, int64_t, int64_t) {});
  return info.Env().Undefined();
}

/** step(v): 1 where v > 0, alpha elsewhere, NaN where v is NaN (ReLU's gradient mask). */
inline float stepOf(float v, float alpha) {
  float st = v > 0.f ? 1.f : alpha;
  return v != v ? v : st;
}

/**
 * One pixel of a window for the channels [0, c): d[k] = g[k] where the pixel holds the window's
 * maximum m[k] and no earlier pixel of the window did (open[k] is all ones until one does), else
 * 0; times step(sx[k]) when kStep. Arithmetic instead of branches: which pixel holds the maximum
 * is data, and mispredicted branches on it cost more than the work.
 */
template <bool kStep>
void routePixel(const float* __restrict px, const float* __restrict m, const float* __restrict g, int32_t* __restrict open,
                float* __restrict d, const float* __restrict sx, float alpha, int64_t c) {
  for (int64_t k = 0; k < c; ++k) {
    int32_t hit = -static_cast<int32_t>(px[k] == m[k]) & open[k];
    int32_t bits;
    std::memcpy(&bits, g + k, 4);
    bits &= hit;
    float routed;
    std::memcpy(&routed, &bits, 4);
    d[k] = kStep ? routed * stepOf(sx[k], alpha) : routed;
    open[k] &= ~hit;
  }
}

/** d[k] ·= step(sx[k]): the ReLU gradient applied in place. */
void mulStepInPlace(float* d, const float* sx, float alpha, int64_t c) {
  for (int64_t k = 0; k < c; ++k) d[k] = d[k] * stepOf(sx[k], alpha);
}

/**
 * Windows that do not overlap (stride ≥ filter, LeNet's 2×2/2): every pixel belongs to at most
 * one window, and the window's maximum y is known from the forward pass, so a pixel receives g
 * when it equals y and no earlier pixel of its window did — rows of whole vectors, no search.
 * With stepX, each routed value is multiplied by step(stepX) while still in registers: the
 * gradient of the ReLU before the pool, in the same pass.
 */
template <bool kStep>
void maxPoolGradDisjoint(const PoolShape& s, const float* dy, const float* x, const float* y, float* dx,
                         const float* stepX, float alpha) {
  parallelFor(s.n * s.oh, 1, [&](int64_t i0, int64_t i1) {
    std::vector<int32_t> open(s.c);
    for (int64_t i = i0; i < i1; ++i) {
      int64_t b = i / s.oh, oy = i % s.oh;
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const int64_t out = ((b * s.oh + oy) * s.ow + ox) * s.c;
        std::fill(open.begin(), open.end(), -1);
        for (int64_t r = s.rowBegin(oy); r < s.rowEnd(oy); ++r) {
          for (int64_t q = s.colBegin(ox); q < s.colEnd(ox); ++q) {
            const int64_t at = ((b * s.ih + r) * s.iw + q) * s.c;
            routePixel<kStep>(x + at, y + out, dy + out, open.data(), dx + at, kStep ? stepX + at : nullptr, alpha, s.c);
          }
        }
      }
    }
  });
}

/** Channels are handled in blocks of this many, kept in local arrays the compiler can vectorize. */
constexpr int64_t kBlock = 16;

/**
 * Overlapping windows: search each window and accumulate, one image per task (windows of
 * different images never share input pixels).
 */
void maxPoolGradOverlapping(const PoolShape& s, const float* dy, const float* x, float* dx) {
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
}

// maxPoolGrad(dy, x, y, xDims, yDims, params, dx, stepX|null, alpha): routes each dy to its
// window's first strict maximum, as the CPU backend does; with stepX, the result is multiplied
// by step(stepX) elementwise (what a following ReLU gradient would do in another pass).
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  const float* x = f32(info, 1);
  const float* y = f32(info, 2);
  PoolShape s = readShape(dims(info, 3), dims(info, 4), dims(info, 5));
  float* dx = f32(info, 6);
  const float* stepX = info.Length() > 7 ? f32OrNull(info, 7) : nullptr;
  float alpha = stepX ? static_cast<float>(doubleArg(info, 8)) : 0.f;
  const int64_t size = s.n * s.ih * s.iw * s.c;
  if (s.sh >= s.fh && s.sw >= s.fw) {
    // Pixels outside every window (a ragged border) get no gradient: 0 · step(stepX) there.
    if (s.oh * s.sh != s.ih || s.ow * s.sw != s.iw || s.pt != 0 || s.pl != 0) {
      std::memset(dx, 0, sizeof(float) * size);
      if (stepX) mulStepInPlace(dx, stepX, alpha, size);
    }
    if (stepX) maxPoolGradDisjoint<true>(s, dy, x, y, dx, stepX, alpha);
    else maxPoolGradDisjoint<false>(s, dy, x, y, dx, nullptr, 0.f);
    return info.Env().Undefined();
  }
  maxPoolGradOverlapping(s, dy, x, dx);
  if (stepX) parallelFor(size, 1 << 16, [&](int64_t b, int64_t e) { mulStepInPlace(dx + b, stepX + b, alpha, e - b); });
  return info.Env().Undefined();
}

// avgPool(x, xDims, y, yDims, params)
Napi::Value AvgPool(const Napi::CallbackInfo& info) {
  PoolShape s = readShape(dims(info, 1), dims(info, 3), dims(info, 4));
  poolForward(s, f32(info, 0), f32(info, 2), 0.f, [](float* out, const float* px, int64_t c) { addInto(out, px, c); },
              [](float* out, int64_t c, int64_t count) {
    for (int64_t k = 0; k < c; ++k) out[k] /= static_cast<float>(count);
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
