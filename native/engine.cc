// oneDNN engine/stream singletons, the shape-keyed primitive cache and argument helpers.
#include <omp.h>

#include <cmath>
#include <list>
#include <unordered_map>

#include "common.h"

namespace sc {

// The engine, stream and cache are never destroyed: at process exit the primitives they hold
// would be torn down after oneDNN's own globals, corrupting the heap.
dnnl::engine& cpuEngine() {
  static auto* eng = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *eng;
}

dnnl::stream& cpuStream() {
  static auto* s = new dnnl::stream(cpuEngine());
  return *s;
}

namespace {
// Enough for every layer shape of a ResNet in forward, backward-data and backward-weights
// at two batch sizes; evicting beyond it only costs a re-JIT.
constexpr size_t kCapacity = 512;

struct Lru {
  std::list<std::pair<std::string, std::shared_ptr<void>>> order;
  std::unordered_map<std::string, decltype(order)::iterator> index;
};
Lru& lru() {
  static auto* l = new Lru();
  return *l;
}
}  // namespace

std::shared_ptr<void> PrimitiveCache::find(const std::string& k) {
  auto& l = lru();
  auto it = l.index.find(k);
  if (it == l.index.end()) return nullptr;
  l.order.splice(l.order.begin(), l.order, it->second);
  return it->second->second;
}

void PrimitiveCache::insert(const std::string& k, std::shared_ptr<void> value) {
  auto& l = lru();
  l.order.emplace_front(k, std::move(value));
  l.index[k] = l.order.begin();
  while (l.order.size() > kCapacity) {
    l.index.erase(l.order.back().first);
    l.order.pop_back();
  }
}

size_t PrimitiveCache::size() const { return lru().order.size(); }

PrimitiveCache& primitiveCache() {
  static PrimitiveCache c;
  return c;
}

std::string key(const char* kind, std::initializer_list<int64_t> values) {
  std::string k(kind);
  for (int64_t v : values) {
    k += ':';
    k += std::to_string(v);
  }
  return k;
}

float* f32(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Float32Array>().Data();
}

int32_t* i32(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::Int32Array>().Data();
}

size_t length(const Napi::CallbackInfo& info, size_t i) {
  return info[i].As<Napi::TypedArray>().ElementLength();
}

float* f32OrNull(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  return f32(info, i);
}

std::vector<int64_t> dims(const Napi::CallbackInfo& info, size_t i) {
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); ++j) out[j] = arr.Get(j).As<Napi::Number>().Int64Value();
  return out;
}

int64_t int64Arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
double doubleArg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }

void appendActivation(dnnl::post_ops& ops, Activation act, float alpha) {
  using dnnl::algorithm;
  switch (act) {
    case Activation::linear: break;
    case Activation::relu: ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f); break;
    case Activation::relu6: ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f); break;
    case Activation::leakyrelu: ops.append_eltwise(1.f, algorithm::eltwise_relu, alpha, 0.f); break;
    case Activation::sigmoid: ops.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f); break;
    case Activation::elu: ops.append_eltwise(1.f, algorithm::eltwise_elu, 1.f, 0.f); break;
  }
}

void applyActivation(float* y, int64_t n, Activation act, float alpha) {
  if (act == Activation::linear) return;
  parallelFor(n, 1 << 15, [&](int64_t b, int64_t e) {
    switch (act) {
      case Activation::linear: break;
      case Activation::relu:
        for (int64_t i = b; i < e; ++i) y[i] = y[i] > 0.f ? y[i] : 0.f;
        break;
      case Activation::relu6:
        for (int64_t i = b; i < e; ++i) y[i] = std::fmin(std::fmax(y[i], 0.f), 6.f);
        break;
      case Activation::leakyrelu:
        for (int64_t i = b; i < e; ++i) y[i] = y[i] < 0.f ? alpha * y[i] : y[i];
        break;
      case Activation::sigmoid:
        for (int64_t i = b; i < e; ++i) y[i] = 1.f / (1.f + std::exp(-y[i]));
        break;
      case Activation::elu:
        for (int64_t i = b; i < e; ++i) y[i] = y[i] >= 0.f ? y[i] : std::expm1(y[i]);
        break;
    }
  });
}

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  int threads = omp_get_max_threads();
  if (n <= grain || threads <= 1) {
    if (n > 0) body(0, n);
    return;
  }
  int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    body(b, e);
  }
}

}  // namespace sc
