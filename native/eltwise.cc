// Elementwise kernels: binary ops with numpy/tfjs broadcasting, unary math and AddN.
#include <cmath>

#include "common.h"

namespace sc {
namespace {

/**
 * Broadcasting by stride: both operands are viewed in the output's index space with stride 0
 * along broadcast dimensions; adjacent dimensions that are contiguous for both operands are
 * merged, so the common cases (same shape, scalar, per-channel vector) become one or two loops.
 */
struct Broadcast {
  std::vector<int64_t> shape, sa, sb;  // merged output dims and operand strides

  Broadcast(std::vector<int64_t> a, std::vector<int64_t> b, const std::vector<int64_t>& out) {
    size_t r = out.size();
    a.insert(a.begin(), r - a.size(), 1);
    b.insert(b.begin(), r - b.size(), 1);
    std::vector<int64_t> stA(r), stB(r);
    int64_t accA = 1, accB = 1;
    for (size_t i = r; i-- > 0;) {
      stA[i] = a[i] == 1 ? 0 : accA;
      stB[i] = b[i] == 1 ? 0 : accB;
      accA *= a[i];
      accB *= b[i];
    }
    for (size_t i = 0; i < r; ++i) {
      if (out[i] == 1) continue;
      if (!shape.empty() && sa.back() == stA[i] * out[i] && sb.back() == stB[i] * out[i]) {
        shape.back() *= out[i];
        sa.back() = stA[i];
        sb.back() = stB[i];
      } else {
        shape.push_back(out[i]);
        sa.push_back(stA[i]);
        sb.push_back(stB[i]);
      }
    }
    if (shape.empty()) {
      shape = {1};
      sa = {0};
      sb = {0};
    }
  }
};

template <typename Op>
void inner(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n, Op op) {
  if (sa == 1 && sb == 1) for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b[i]);
  else if (sa == 1 && sb == 0) { float bv = *b; for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], bv); }
  else if (sa == 0 && sb == 1) { float av = *a; for (int64_t i = 0; i < n; ++i) o[i] = op(av, b[i]); }
  else for (int64_t i = 0; i < n; ++i) o[i] = op(a[i * sa], b[i * sb]);
}

template <typename Op>
void binary(const float* a, const float* b, float* o, const Broadcast& bc, Op op) {
  size_t r = bc.shape.size();
  int64_t n = bc.shape[r - 1];
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; ++i) rows *= bc.shape[i];
  parallelFor(rows, std::max<int64_t>(1, 16384 / n), [&](int64_t r0, int64_t r1) {
    // The operand offsets of the first row, then an odometer over the outer dimensions: a
    // division per row costs more than a short row (a bias of 20 channels) itself.
    std::vector<int64_t> idx(r, 0);
    int64_t rem = r0, offA = 0, offB = 0;
    for (size_t d = r - 1; d-- > 0;) {
      idx[d] = rem % bc.shape[d];
      rem /= bc.shape[d];
      offA += idx[d] * bc.sa[d];
      offB += idx[d] * bc.sb[d];
    }
    for (int64_t row = r0; row < r1; ++row) {
      inner(a + offA, bc.sa[r - 1], b + offB, bc.sb[r - 1], o + row * n, n, op);
      for (size_t d = r - 1; d-- > 0;) {
        offA += bc.sa[d];
        offB += bc.sb[d];
        if (++idx[d] < bc.shape[d]) break;
        offA -= bc.sa[d] * bc.shape[d];
        offB -= bc.sb[d] * bc.shape[d];
        idx[d] = 0;
      }
    }
  });
}

enum class BinaryOp : int { add = 0, sub = 1, mul = 2, div = 3, max = 4, min = 5, sqdiff = 6 };

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  auto op = static_cast<BinaryOp>(int64Arg(info, 0));
  const float* a = f32(info, 1);
  const float* b = f32(info, 3);
  float* o = f32(info, 5);
  Broadcast bc(dims(info, 2), dims(info, 4), dims(info, 6));
  switch (op) {
    case BinaryOp::add: binary(a, b, o, bc, [](float x, float y) { return x + y; }); break;
    case BinaryOp::sub: binary(a, b, o, bc, [](float x, float y) { return x - y; }); break;
    case BinaryOp::mul: binary(a, b, o, bc, [](float x, float y) { return x * y; }); break;
    case BinaryOp::div: binary(a, b, o, bc, [](float x, float y) { return x / y; }); break;
    // tfjs propagates NaN through max/min (Math.max semantics).
    case BinaryOp::max: binary(a, b, o, bc, [](float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); }); break;
    case BinaryOp::min: binary(a, b, o, bc, [](float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); }); break;
    case BinaryOp::sqdiff: binary(a, b, o, bc, [](float x, float y) { return (x - y) * (x - y); }); break;
  }
  return info.Env().Undefined();
}

enum class UnaryOp : int {
  relu = 0, relu6 = 1, step = 2, exp = 3, log = 4, neg = 5, sqrt = 6, rsqrt = 7,
  square = 8, abs = 9, sigmoid = 10, tanh = 11, reciprocal = 12, leakyrelu = 13, elu = 14,
};

// The loops live in plain functions over [0, n) and the parallel bodies pass offset pointers:
// GCC 12 does not if-convert (and so does not vectorize) the same loop written over [b, e)
// inside the lambda, which made ReLU and its gradient branch on the sign of every element.
template <typename F>
void unaryRange(const float* x, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <typename F>
void unary(const float* x, float* y, int64_t n, F f) {
  parallelFor(n, 1 << 15, [&](int64_t b, int64_t e) { unaryRange(x + b, y + b, e - b, f); });
}

// unary(op, x, y, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  auto op = static_cast<UnaryOp>(int64Arg(info, 0));
  const float* x = f32(info, 1);
  float* y = f32(info, 2);
  int64_t n = static_cast<int64_t>(length(info, 1));
  float alpha = static_cast<float>(doubleArg(info, 3));
  switch (op) {
    case UnaryOp::relu: unary(x, y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case UnaryOp::relu6: unary(x, y, n, [](float v) { return v != v ? v : std::fmin(std::fmax(v, 0.f), 6.f); }); break;
    case UnaryOp::step: unary(x, y, n, [alpha](float v) {
        float s = v > 0.f ? 1.f : alpha;
        return v != v ? v : s;  // both selects, so the loop vectorizes
      });
      break;
    case UnaryOp::exp: unary(x, y, n, [](float v) { return std::exp(v); }); break;
    case UnaryOp::log: unary(x, y, n, [](float v) { return std::log(v); }); break;
    case UnaryOp::neg: unary(x, y, n, [](float v) { return -v; }); break;
    case UnaryOp::sqrt: unary(x, y, n, [](float v) { return std::sqrt(v); }); break;
    case UnaryOp::rsqrt: unary(x, y, n, [](float v) { return 1.f / std::sqrt(v); }); break;
    case UnaryOp::square: unary(x, y, n, [](float v) { return v * v; }); break;
    case UnaryOp::abs: unary(x, y, n, [](float v) { return std::fabs(v); }); break;
    case UnaryOp::sigmoid: unary(x, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    case UnaryOp::tanh: unary(x, y, n, [](float v) { return std::tanh(v); }); break;
    case UnaryOp::reciprocal: unary(x, y, n, [](float v) { return 1.f / v; }); break;
    case UnaryOp::leakyrelu: unary(x, y, n, [alpha](float v) { return v < 0.f ? alpha * v : v; }); break;
    case UnaryOp::elu: unary(x, y, n, [](float v) { return v >= 0.f ? v : std::expm1(v); }); break;
  }
  return info.Env().Undefined();
}

SC_CLONES void mulStepRange(const float* a, const float* x, float alpha, float* o, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i];
    float s = v > 0.f ? 1.f : alpha;
    s = v != v ? v : s;
    o[i] = a[i] * s;
  }
}

// mulStep(a, x, alpha, out): a · step(x), ReLU's gradient without a mask tensor.
Napi::Value MulStep(const Napi::CallbackInfo& info) {
  const float* a = f32(info, 0);
  const float* x = f32(info, 1);
  float alpha = static_cast<float>(doubleArg(info, 2));
  float* o = f32(info, 3);
  int64_t n = static_cast<int64_t>(length(info, 3));
  parallelFor(n, 1 << 16, [&](int64_t b, int64_t e) { mulStepRange(a + b, x + b, alpha, o + b, e - b); });
  return info.Env().Undefined();
}

/**
 * One SGD step of PyTorch's rule in float32, each operation rounded as the separate tfjs ops of
 * src/training/sgd.ts round it: d = g + wd·w; b' = μ·b + d; w' = w − lr·(nesterov ? d + μ·b' : b').
 */
SC_CLONES void sgdRange(const float* w, const float* g, const float* b, float* wOut, float* bOut, float lr, float momentum,
              float weightDecay, bool decay, bool nesterov, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float d = decay ? g[i] + w[i] * weightDecay : g[i];
    float buf = b[i] * momentum + d;
    float update = nesterov ? d + buf * momentum : buf;
    bOut[i] = buf;
    wOut[i] = w[i] - update * lr;
  }
}

// sgdStep(w, g, buf, wOut, bufOut, lr, momentum, weightDecay, nesterov)
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const float* w = f32(info, 0);
  const float* g = f32(info, 1);
  const float* b = f32(info, 2);
  float* wOut = f32(info, 3);
  float* bOut = f32(info, 4);
  double weightDecay = doubleArg(info, 7);
  float lr = static_cast<float>(doubleArg(info, 5)), momentum = static_cast<float>(doubleArg(info, 6));
  bool nesterov = info[8].As<Napi::Boolean>().Value();
  int64_t n = static_cast<int64_t>(length(info, 0));
  parallelFor(n, 1 << 15, [&](int64_t s, int64_t e) {
    sgdRange(w + s, g + s, b + s, wOut + s, bOut + s, lr, momentum, static_cast<float>(weightDecay), weightDecay > 0,
             nesterov, e - s);
  });
  return info.Env().Undefined();
}

// addN(inputs: Float32Array[], out)
Napi::Value AddN(const Napi::CallbackInfo& info) {
  auto arr = info[0].As<Napi::Array>();
  std::vector<const float*> in(arr.Length());
  for (uint32_t j = 0; j < arr.Length(); ++j) in[j] = arr.Get(j).As<Napi::Float32Array>().Data();
  float* o = f32(info, 1);
  int64_t n = static_cast<int64_t>(length(info, 1));
  parallelFor(n, 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = in[0][i];
    for (size_t j = 1; j < in.size(); ++j)
      for (int64_t i = b; i < e; ++i) o[i] += in[j][i];
  });
  return info.Env().Undefined();
}

}  // namespace

void initElementwise(Napi::Env env, Napi::Object exports) {
  exportFunction<Binary>(env, exports, "binary");
  exportFunction<Unary>(env, exports, "unary");
  exportFunction<MulStep>(env, exports, "mulStep");
  exportFunction<AddN>(env, exports, "addN");
  exportFunction<SgdStep>(env, exports, "sgdStep");
}

}  // namespace sc
