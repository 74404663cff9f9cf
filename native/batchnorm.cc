// Batch normalization as tfjs's FusedBatchNorm computes it:
// y = offset + (x - mean) * scale / sqrt(variance + epsilon), every parameter indexed modulo
// its length (a per-channel vector over NHWC, or a scalar); and batch normalization of a
// training step (statistics of the batch itself): forward one pass for the statistics and one
// to normalize, backward two, without full-size temporaries.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "common.h"

namespace sc {
namespace {

// Rows [r0, r1) of `period` values normalized, plus a residual (same shape as x) and rectified
// (ReLU as tfjs's Relu: NaN stays NaN) when asked: each step rounds to float as the separate ops do.
SC_CLONES void normalizeRows(const float* x, const float* mean, const float* mult, const float* shift, const float* residual,
                             bool relu, float* y, int64_t r0, int64_t r1, int64_t period) {
  for (int64_t r = r0; r < r1; ++r) {
    int64_t o = r * period;
    for (int64_t j = 0; j < period; ++j) {
      float v = shift[j] + (x[o + j] - mean[j]) * mult[j];
      if (residual) v = v + residual[o + j];
      y[o + j] = relu ? (v < 0.f ? 0.f : v) : v;
    }
  }
}

// fusedBatchNorm(x, y, mean, variance, offset|null, scale|null, epsilon, period, relu?,
// residual?). Every given parameter has length `period` or 1, and x's length is a multiple of
// period. A residual (x's length) is added to the result, and relu rectifies it: a training
// step's batch norm, the residual add and the ReLU after them in one pass.
Napi::Value FusedBatchNorm(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  float* y = f32(info, 1);
  int64_t total = static_cast<int64_t>(length(info, 0));
  const float* mean = f32(info, 2);
  const float* var = f32(info, 3);
  const float* offset = f32OrNull(info, 4);
  const float* scale = f32OrNull(info, 5);
  double eps = doubleArg(info, 6);
  int64_t period = int64Arg(info, 7);
  auto at = [&](const Napi::CallbackInfo& inf, size_t arg, const float* p, int64_t j) {
    return length(inf, arg) == 1 ? p[0] : p[j];
  };
  // Per position of the period: the centre and the multiplier, computed once.
  std::vector<float> centre(period), mult(period), shift(period);
  for (int64_t j = 0; j < period; ++j) {
    centre[j] = at(info, 2, mean, j);
    float s = scale ? at(info, 5, scale, j) : 1.f;
    mult[j] = static_cast<float>(s / std::sqrt(static_cast<double>(at(info, 3, var, j)) + eps));
    shift[j] = offset ? at(info, 4, offset, j) : 0.f;
  }
  int64_t rows = total / period;
  bool relu = info.Length() > 8 && info[8].IsBoolean() && info[8].As<Napi::Boolean>().Value();
  const float* residual = info.Length() > 9 ? f32OrNull(info, 9) : nullptr;
  parallelFor(rows, std::max<int64_t>(1, 4096 / period), [&](int64_t r0, int64_t r1) {
    normalizeRows(x, centre.data(), mult.data(), shift.data(), residual, relu, y, r0, r1, period);
  });
  return info.Env().Undefined();
}

/**
 * Per-channel sums over the rows of a [rows, channels] array: `accumulate(r0, r1, acc)` adds
 * the terms of rows [r0, r1) to acc[k·channels + j] for k < terms. Bands of rows are summed in parallel into
 * partials (in double, as the tfjs CPU backend sums in JS numbers) and the partials are added
 * in band order, so the result depends on the thread count only, not on scheduling.
 */
template <typename Accumulate>
std::vector<double> channelSums(int64_t rows, int64_t channels, int terms, Accumulate accumulate) {
  int64_t width = channels * terms;
  // A band is worth a thread from about 64K values on.
  int64_t bands = std::max<int64_t>(1, std::min<int64_t>(omp_get_max_threads(), rows * channels / (1 << 16)));
  std::vector<double> partial(bands * width, 0.0);
  parallelFor(bands, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      accumulate(rows * b / bands, rows * (b + 1) / bands, partial.data() + b * width);
    }
  });
  for (int64_t b = 1; b < bands; ++b)
    for (int64_t i = 0; i < width; ++i) partial[i] += partial[b * width + i];
  partial.resize(width);
  return partial;
}

// Over rows [r0, r1) of n values: adds d = x − shift to acc[0, n) and d² to acc[n, 2n), in
// double: the difference of two floats is exact there (for any exponents this close), and d²
// rounds at 1e-16.
// Channels go in groups of kGroup whose sums stay in registers over all the rows (summing into
// acc directly waits on a store and a load per row); a band's acc starts at 0, so the sums are
// the same, in the same order, either way.
constexpr int64_t kGroup = 16;

SC_CLONES void addShiftedMoments(const float* x, const float* shift, double* acc, int64_t r0, int64_t r1, int64_t n) {
  int64_t j0 = 0;
  for (; j0 + kGroup <= n; j0 += kGroup) {
    double s[kGroup] = {}, q[kGroup] = {};
    for (int64_t r = r0; r < r1; ++r) {
      const float* row = x + r * n + j0;
      for (int64_t j = 0; j < kGroup; ++j) {
        double d = static_cast<double>(row[j]) - shift[j0 + j];
        s[j] += d;
        q[j] += d * d;
      }
    }
    for (int64_t j = 0; j < kGroup; ++j) {
      acc[j0 + j] += s[j];
      acc[n + j0 + j] += q[j];
    }
  }
  for (int64_t r = r0; j0 < n && r < r1; ++r) {
    for (int64_t j = j0; j < n; ++j) {
      double d = static_cast<double>(x[r * n + j]) - shift[j];
      acc[j] += d;
      acc[n + j] += d * d;
    }
  }
}

// batchNormStats(x, channels, mean, variance): x viewed as [rows, channels]; the mean and the
// biased variance per channel over the rows, in one pass: with K the channel's first value and
// d = x − K, mean = K + Σd/M and variance = Σd²/M − (Σd/M)². The shift keeps the cancellation in
// that subtraction small (a sample lies within a few standard deviations of the mean), where
// raw E[x²] − E[x]² loses the variance of large-mean channels; in double the result is at least
// as exact as tfjs's float deviations. The normalized output is fusedBatchNorm's pass.
Napi::Value BatchNormStats(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  int64_t channels = int64Arg(info, 1);
  float* mean = f32(info, 2);
  float* variance = f32(info, 3);
  int64_t rows = static_cast<int64_t>(length(info, 0)) / channels;
  double perRow = 1.0 / static_cast<double>(rows);
  std::vector<double> sums = channelSums(rows, channels, 2, [&](int64_t r0, int64_t r1, double* acc) {
    addShiftedMoments(x, x, acc, r0, r1, channels);
  });
  for (int64_t j = 0; j < channels; ++j) {
    double m = sums[j] * perRow;
    double v = sums[channels + j] * perRow - m * m;
    mean[j] = static_cast<float>(x[j] + m);
    variance[j] = static_cast<float>(v < 0.0 ? 0.0 : v);  // rounding can dip below 0; NaN passes through
  }
  return info.Env().Undefined();
}

// Over rows [r0, r1) of n values: adds dy to acc[0, n) and dy·(x − mean) to acc[n, 2n).
// Grouped as addShiftedMoments.
SC_CLONES void addGradientTerms(const float* dy, const float* x, const float* mean, double* acc, int64_t r0, int64_t r1, int64_t n) {
  int64_t j0 = 0;
  for (; j0 + kGroup <= n; j0 += kGroup) {
    double s[kGroup] = {}, p[kGroup] = {};
    for (int64_t r = r0; r < r1; ++r) {
      int64_t o = r * n + j0;
      for (int64_t j = 0; j < kGroup; ++j) {
        s[j] += dy[o + j];
        p[j] += static_cast<double>(dy[o + j]) * (static_cast<double>(x[o + j]) - mean[j0 + j]);
      }
    }
    for (int64_t j = 0; j < kGroup; ++j) {
      acc[j0 + j] += s[j];
      acc[n + j0 + j] += p[j];
    }
  }
  for (int64_t r = r0; j0 < n && r < r1; ++r) {
    int64_t o = r * n;
    for (int64_t j = j0; j < n; ++j) {
      acc[j] += dy[o + j];
      acc[n + j] += static_cast<double>(dy[o + j]) * (static_cast<double>(x[o + j]) - mean[j]);
    }
  }
}

SC_CLONES void inputGradientRows(const float* dy, const float* x, const float* mean, const float* a, const float* b, const float* c,
                                 float* dx, int64_t r0, int64_t r1, int64_t n) {
  for (int64_t r = r0; r < r1; ++r) {
    int64_t o = r * n;
    for (int64_t j = 0; j < n; ++j) dx[o + j] = a[j] * dy[o + j] + b[j] * (x[o + j] - mean[j]) + c[j];
  }
}

// batchNormTrainGrad(dy, x, channels, scale, mean, variance, epsilon, dx, dscale, doffset): the
// gradient of training-mode batch norm (batchNormStats, then fusedBatchNorm) through the batch
// statistics. With s = 1/√(variance + ε),
// x̂ = (x − mean)·s and M rows: doffset = Σdy, dscale = Σdy·x̂,
// dx = γ·s·(dy − doffset/M − x̂·dscale/M), i.e. a·dy + b·(x − mean) + c per channel.
// Two passes: the two sums, then dx.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info, 0);
  const float* x = f32(info, 1);
  int64_t channels = int64Arg(info, 2);
  const float* scale = f32(info, 3);
  const float* mean = f32(info, 4);
  const float* variance = f32(info, 5);
  double eps = doubleArg(info, 6);
  float* dx = f32(info, 7);
  float* dscale = f32(info, 8);
  float* doffset = f32(info, 9);
  int64_t rows = static_cast<int64_t>(length(info, 1)) / channels;
  std::vector<double> sums = channelSums(rows, channels, 2, [&](int64_t r0, int64_t r1, double* acc) {
    addGradientTerms(dy, x, mean, acc, r0, r1, channels);
  });
  std::vector<float> a(channels), b(channels), c(channels);
  double perRow = 1.0 / static_cast<double>(rows);
  for (int64_t j = 0; j < channels; ++j) {
    double s = 1.0 / std::sqrt(static_cast<double>(variance[j]) + eps);
    double sumDy = sums[j], sumDyCentred = sums[channels + j];
    doffset[j] = static_cast<float>(sumDy);
    dscale[j] = static_cast<float>(sumDyCentred * s);
    double gs = scale[j] * s;
    a[j] = static_cast<float>(gs);
    b[j] = static_cast<float>(-gs * s * s * sumDyCentred * perRow);
    c[j] = static_cast<float>(-gs * sumDy * perRow);
  }
  parallelFor(rows, std::max<int64_t>(1, 4096 / channels), [&](int64_t r0, int64_t r1) {
    inputGradientRows(dy, x, mean, a.data(), b.data(), c.data(), dx, r0, r1, channels);
  });
  return info.Env().Undefined();
}

}  // namespace

void initBatchnorm(Napi::Env env, Napi::Object exports) {
  exportFunction<FusedBatchNorm>(env, exports, "fusedBatchNorm");
  exportFunction<BatchNormStats>(env, exports, "batchNormStats");
  exportFunction<BatchNormTrainGrad>(env, exports, "batchNormTrainGrad");
}

}  // namespace sc
