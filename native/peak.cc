// The machine's attainable peak, measured: oneDNN's matmul on square matrices that stay in cache
// per block, in fp32 or bf16 (float32 accumulation). The bench divides each case's GFLOP/s by it.
#include <chrono>

#include "common.h"

namespace sc {
namespace {

// peakMatmul(bf16, size, seconds) -> GFLOP/s: best call over `seconds` of C = A·B, size × size.
Napi::Value PeakMatmul(const Napi::CallbackInfo& info) {
  using dnnl::memory;
  using tag = memory::format_tag;
  bool bf16 = info[0].As<Napi::Boolean>().Value();
  int64_t n = int64Arg(info, 1);
  double seconds = doubleArg(info, 2);
  auto type = bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory::desc a({n, n}, type, tag::ab), b({n, n}, type, tag::ab), c({n, n}, memory::data_type::f32, tag::ab);
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), cpuEngine());
  memory am(a, cpuEngine()), bm(b, cpuEngine()), cm(c, cpuEngine());
  std::memset(am.get_data_handle(), 0, a.get_size());
  std::memset(bm.get_data_handle(), 0, b.get_size());
  dnnl::matmul mm(pd);
  auto& strm = cpuStream();
  double best = 1e30, spent = 0;
  for (int i = 0; i < 2 || spent < seconds; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    mm.execute(strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    strm.wait();
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i > 0) best = std::min(best, dt);  // the first call pays for page faults
    spent += dt;
  }
  auto out = Napi::Object::New(info.Env());
  out.Set("gflops", 2.0 * double(n) * double(n) * double(n) / best / 1e9);
  out.Set("impl", pd.impl_info_str());
  return out;
}

}  // namespace

void initPeak(Napi::Env env, Napi::Object exports) { exportFunction<PeakMatmul>(env, exports, "peakMatmul"); }

}  // namespace sc
