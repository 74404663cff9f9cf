// Batched matrix multiplication (tfjs BatchMatMul / _FusedMatMul) on oneDNN's sgemm, or in bf16
// on oneDNN's matmul primitive (operands rounded to bfloat16, float32 accumulation and output),
// with the bias and activation applied in one pass over the output while it is still in cache.
#include "common.h"

namespace sc {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

/**
 * c[i] = op(a[i])·op(b[i]) in bf16. Each float32 operand, transposed or not, is reordered into a
 * plain row-major bf16 copy (rounding to nearest even); a batch of 1 broadcasts in the primitive.
 */
struct MatmulBf16 {
  memory::desc aUser, bUser;
  memory a16, b16;
  dnnl::reorder toA16, toB16;
  dnnl::matmul prim;

  /** The float32 operand as stored: `rows` × `cols` logically, the transpose of the array when `t`. */
  static memory::desc stored(int64_t batch, int64_t rows, int64_t cols, bool t) {
    return t ? memory::desc({batch, rows, cols}, dt::f32, memory::dims{rows * cols, 1, rows})
             : memory::desc({batch, rows, cols}, dt::f32, memory::dims{rows * cols, cols, 1});
  }

  MatmulBf16(int64_t batchA, int64_t batchB, int64_t m, int64_t k, int64_t n, bool ta, bool tb)
      : aUser(stored(batchA, m, k, ta)), bUser(stored(batchB, k, n, tb)) {
    auto& eng = cpuEngine();
    memory::desc a({batchA, m, k}, dt::bf16, tag::abc), b({batchB, k, n}, dt::bf16, tag::abc);
    memory::desc c({std::max(batchA, batchB), m, n}, dt::f32, tag::abc);
    a16 = memory(a, eng);
    b16 = memory(b, eng);
    toA16 = dnnl::reorder(dnnl::reorder::primitive_desc(eng, aUser, eng, a));
    toB16 = dnnl::reorder(dnnl::reorder::primitive_desc(eng, bUser, eng, b));
    prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), eng));
  }

  void run(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n) {
    auto& eng = cpuEngine();
    auto& strm = cpuStream();
    memory aIn(aUser, eng, const_cast<float*>(a)), bIn(bUser, eng, const_cast<float*>(b));
    toA16.execute(strm, aIn, a16);
    toB16.execute(strm, bIn, b16);
    memory out({{batch, m, n}, dt::f32, tag::abc}, eng, c);
    prim.execute(strm, {{DNNL_ARG_SRC, a16}, {DNNL_ARG_WEIGHTS, b16}, {DNNL_ARG_DST, out}});
    strm.wait();
  }
};

// batchMatMul(a, [batchA, rowsA, colsA], b, [batchB, rowsB, colsB], c, transposeA, transposeB,
//             bias|null, activation, alpha, bf16). A batch of 1 broadcasts against the other
//             operand; bias has one value per output column.
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
  bool bf16 = info[10].As<Napi::Boolean>().Value();

  int64_t m = ta ? ad[2] : ad[1];
  int64_t k = ta ? ad[1] : ad[2];
  int64_t n = tb ? bd[1] : bd[2];
  int64_t batch = std::max(ad[0], bd[0]);
  int64_t aStride = ad[0] == 1 ? 0 : ad[1] * ad[2];
  int64_t bStride = bd[0] == 1 ? 0 : bd[1] * bd[2];
  if (bf16) {
    auto& p = cached<MatmulBf16>(key("matmul_bf16", {ad[0], bd[0], m, k, n, ta, tb}),
                                 [&] { return std::make_shared<MatmulBf16>(ad[0], bd[0], m, k, n, ta, tb); });
    p.run(a, b, c, batch, m, n);
  } else {
    for (int64_t i = 0; i < batch; ++i) {
      float* ci = c + i * m * n;
      dnnl::sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, 1.f, a + i * aStride, ad[2], b + i * bStride, bd[2], 0.f, ci, n);
    }
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
