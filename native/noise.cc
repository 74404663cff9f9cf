// The noise functions of the addon (the stream itself is in noise.h).
#include "noise.h"

namespace sc {
namespace {

// gaussian(out, seed, stream, substream, offset, sigma, accumulate): out[j] = sigma·z_{offset+j},
// or out[j] += it when accumulate (noise added in place to a batch already holding x).
Napi::Value Gaussian(const Napi::CallbackInfo& info) {
  float* out = f32(info, 0);
  int64_t n = static_cast<int64_t>(length(info, 0));
  Key key = readKey(info, 1);
  auto offset = static_cast<uint64_t>(doubleArg(info, 4));
  double sigma = doubleArg(info, 5);
  bool accumulate = info[6].As<Napi::Boolean>().Value();
  if (accumulate) forNoise(key, offset, n, sigma, [out](int64_t j, float z) { out[j] += z; });
  else forNoise(key, offset, n, sigma, [out](int64_t j, float z) { out[j] = z; });
  return info.Env().Undefined();
}

// noisyCopies(dst, x, count, seed, stream, substream, firstSample, sigma):
// dst[s·d + i] = x[i] + sigma·z_{(firstSample + s)·d + i} for s < count, d = x.length — the
// batch of noisy inputs that certification classifies, written without a separate noise buffer.
Napi::Value NoisyCopies(const Napi::CallbackInfo& info) {
  float* dst = f32(info, 0);
  const float* x = f32(info, 1);
  int64_t d = static_cast<int64_t>(length(info, 1));
  int64_t count = int64Arg(info, 2);
  Key key = readKey(info, 3);
  auto first = static_cast<uint64_t>(doubleArg(info, 6));
  double sigma = doubleArg(info, 7);
  forNoise(key, first * d, count * d, sigma, [dst, x, d](int64_t j, float z) { dst[j] = x[j % d] + z; });
  return info.Env().Undefined();
}

}  // namespace

void initNoise(Napi::Env env, Napi::Object exports) {
  exportFunction<Gaussian>(env, exports, "gaussian");
  exportFunction<NoisyCopies>(env, exports, "noisyCopies");
}

}  // namespace sc
