// Batched matrix multiplication (tfjs BatchMatMul / _FusedMatMul) on oneDNN's sgemm, with the
// bias and activation applied in one pass over the output while it is still in cache.
#include "common.h"

namespace sc {
namespace {

// batchMatMul(a, [batchA, rowsA, colsA], b, [batchB, rowsB, colsB], c, transposeA, transposeB,
//             bias|null, activation, alpha). A batch of 1 broadcasts against the other operand;
//             bias has one value per output column.
Napi::Value BatchMatMul(const Napi::CallbackInfo& info) {
  const float* a = f32(info, 0);
  auto ad = dims(info, 1);
  const float* b = f32(info, 2);
  auto bd = dims(info, 3);
  float* c = f32(info, 4);
  bool ta = info[5].As<Napi::Boolean>().Value();
  bool tb = info[6].As<Napi::Boolean>().Value();
  const float* bias = f32OrNull(info, 7);
  auto act = static_cast<Activation>(int64Arg(info, 8));
  float alpha = static_cast<float>(doubleArg(info, 9));

  int64_t m = ta ? ad[2] : ad[1];
  int64_t k = ta ? ad[1] : ad[2];
  int64_t n = tb ? bd[1] : bd[2];
  int64_t batch = std::max(ad[0], bd[0]);
  int64_t aStride = ad[0] == 1 ? 0 : ad[1] * ad[2];
  int64_t bStride = bd[0] == 1 ? 0 : bd[1] * bd[2];
  for (int64_t i = 0; i < batch; ++i) {
    float* ci = c + i * m * n;
    dnnl::sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a + i * aStride, ad[2], b + i * bStride, bd[2], 0.f, ci, n);
  }
  int64_t rows = batch * m;
  if (bias) {
    parallelFor(rows, 64, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        float* row = c + r * n;
        for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
        applyActivation(row, n, act, alpha);
      }
    });
  } else {
    applyActivation(c, rows * n, act, alpha);
  }
  return info.Env().Undefined();
}

}  // namespace

void initMatmul(Napi::Env env, Napi::Object exports) {
  exportFunction<BatchMatMul>(env, exports, "batchMatMul");
}

}  // namespace sc
