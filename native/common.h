// Shared helpers of the smoothcert native backend: the oneDNN engine and stream, the
// primitive cache, and zero-copy access to the typed arrays that tfjs tensors live in.
#pragma once

#include <napi.h>

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace sc {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

/**
 * Primitives keyed by kind and shape. oneDNN's primitive creation JIT-compiles kernels, so a
 * training loop that sees the same shapes every step must build each primitive once.
 * Entries are evicted least-recently-used beyond a fixed capacity.
 */
class PrimitiveCache {
 public:
  std::shared_ptr<void> find(const std::string& key);
  void insert(const std::string& key, std::shared_ptr<void> value);
  size_t size() const;
};
PrimitiveCache& primitiveCache();

/** Returns the cached entry of type T for key, building it with make() on a miss. */
template <typename T>
T& cached(const std::string& key, const std::function<std::shared_ptr<T>()>& make) {
  auto hit = primitiveCache().find(key);
  if (hit) return *static_cast<T*>(hit.get());
  auto made = make();
  primitiveCache().insert(key, made);
  return *made;
}

/** Builds a cache key from a kind and integers, e.g. key("conv", {n, h, w}). */
std::string key(const char* kind, std::initializer_list<int64_t> values);

/** The float data of a Float32Array argument, without copying. */
float* f32(const Napi::CallbackInfo& info, size_t i);
/** The data of an Int32Array argument, without copying. */
int32_t* i32(const Napi::CallbackInfo& info, size_t i);
/** Length (elements) of a typed-array argument. */
size_t length(const Napi::CallbackInfo& info, size_t i);
/** A float argument that may be null: returns nullptr then. */
float* f32OrNull(const Napi::CallbackInfo& info, size_t i);
/** An array of integers (plain JS array) as int64 dims. */
std::vector<int64_t> dims(const Napi::CallbackInfo& info, size_t i);
int64_t int64Arg(const Napi::CallbackInfo& info, size_t i);
double doubleArg(const Napi::CallbackInfo& info, size_t i);

/**
 * counts[arg-max of row r] += 1 for each of `rows` logit rows of `cols` (first maximum on ties),
 * and labels[r] = that class when labels is not null. A row with a NaN or infinite logit is not
 * counted (label −1); returns how many such rows there were.
 */
int64_t tallyArgMax(const float* logits, int64_t rows, int64_t cols, double* counts, int32_t* labels);

/** Fused activations shared by conv and matmul; the numbering is mirrored in src/backend/addon.ts. */
enum class Activation : int { linear = 0, relu = 1, relu6 = 2, leakyrelu = 3, sigmoid = 4, elu = 5 };
/** Appends the activation as a oneDNN post-op (linear appends nothing). */
void appendActivation(dnnl::post_ops& ops, Activation act, float alpha);
/** Applies the activation in place on n floats (for the kernels that are not oneDNN primitives). */
void applyActivation(float* y, int64_t n, Activation act, float alpha);

/**
 * Marks a hot loop to be compiled for AVX-512 and AVX2 besides the baseline, the variant picked
 * once at load time by the CPU (GCC's ifunc dispatch): the addon is built without -march, which
 * leaves plain loops 2 doubles or 4 floats wide. The variants perform the same IEEE operations
 * in the same order per element (no contraction into FMA: -ffp-contract=off; no reassociation),
 * so their results are bit-identical. Put it on functions that loop over many rows, not per row:
 * the dispatch is an indirect call.
 */
#define SC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

/** Runs `body(begin, end)` over [0, n) split across the OpenMP threads when n is large enough. */
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

/**
 * Wraps an addon function so that C++ exceptions (oneDNN's dnnl::error among them) reach JS as
 * Error objects instead of terminating the process.
 */
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("smoothcert native: ") + e.what());
  }
}

/** Registers `F` as exports[name], guarded. */
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
void exportFunction(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, guarded<F>, name));
}

// Each kernel family registers its functions on the module's exports.
void initConv(Napi::Env env, Napi::Object exports);
void initMatmul(Napi::Env env, Napi::Object exports);
void initPool(Napi::Env env, Napi::Object exports);
void initBatchnorm(Napi::Env env, Napi::Object exports);
void initElementwise(Napi::Env env, Napi::Object exports);
void initCopy(Napi::Env env, Napi::Object exports);
void initReduce(Napi::Env env, Napi::Object exports);
void initNoise(Napi::Env env, Napi::Object exports);
void initPlan(Napi::Env env, Napi::Object exports);
void initPeak(Napi::Env env, Napi::Object exports);

}  // namespace sc
