// Batch normalization as tfjs's FusedBatchNorm computes it:
// y = offset + (x - mean) * scale / sqrt(variance + epsilon), every parameter indexed modulo
// its length (a per-channel vector over NHWC, or a scalar).
#include <cmath>

#include "common.h"

namespace sc {
namespace {

// fusedBatchNorm(x, y, mean, variance, offset|null, scale|null, epsilon, period). Every given
// parameter has length `period` or 1, and x's length is a multiple of period.
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
  parallelFor(rows, std::max<int64_t>(1, 4096 / period), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * period;
      float* yr = y + r * period;
      for (int64_t j = 0; j < period; ++j) yr[j] = shift[j] + (xr[j] - centre[j]) * mult[j];
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void initBatchnorm(Napi::Env env, Napi::Object exports) {
  exportFunction<FusedBatchNorm>(env, exports, "fusedBatchNorm");
}

}  // namespace sc
