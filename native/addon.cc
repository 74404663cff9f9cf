// Entry point of the smoothcert native addon: each kernel family adds its functions.
#include <omp.h>

#include "common.h"

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  out.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  out.Set("threads", omp_get_max_threads());
  out.Set("cachedPrimitives", static_cast<double>(sc::primitiveCache().size()));
  // bf16 convolutions at full speed need AVX512-BF16 (or AMX); oneDNN's ISAs are nested bit sets.
  auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  out.Set("bf16", (isa & bf16) == bf16);
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sc::exportFunction<Info>(env, exports, "info");
  sc::initConv(env, exports);
  sc::initMatmul(env, exports);
  sc::initPool(env, exports);
  sc::initBatchnorm(env, exports);
  sc::initElementwise(env, exports);
  sc::initCopy(env, exports);
  sc::initReduce(env, exports);
  sc::initNoise(env, exports);
  sc::initPlan(env, exports);
  sc::initPeak(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(smoothcert_native, Init)
