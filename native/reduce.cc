// Reductions over one contiguous block of axes (x viewed as [outer, mid, inner], reducing mid),
// arg-max, row softmax, and the arg-max class count that certification needs.
#include <omp.h>

#include <cmath>
#include <limits>

#include "common.h"

namespace sc {
namespace {

enum class ReduceOp : int { sum = 0, mean = 1, max = 2, min = 3, prod = 4 };

/** Reduces x viewed as [outer, mid, inner] over mid; `combine` merges two partial results. */
template <typename Acc, typename Step, typename Combine>
void reduceMid(const float* x, float* out, int64_t outer, int64_t mid, int64_t inner, Acc init, Step step,
               Combine combine, double scale) {
  if (inner == 1) {
    parallelFor(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(mid, 1)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        Acc acc = init;
        const float* row = x + o * mid;
        for (int64_t j = 0; j < mid; ++j) acc = step(acc, row[j]);
        out[o] = static_cast<float>(acc * scale);
      }
    });
    return;
  }
  if (outer == 1 && inner <= 4096 && mid * inner >= (1 << 17)) {
    // Few columns over many rows (a bias gradient: NHWC summed over N, H, W): each task reduces a
    // band of rows into its own partial row, and the partials are combined in order.
    int chunks = omp_get_max_threads();
    std::vector<std::vector<Acc>> partial(chunks, std::vector<Acc>(inner, init));
#pragma omp parallel for num_threads(chunks) schedule(static, 1)
    for (int c = 0; c < chunks; ++c) {
      Acc* acc = partial[c].data();
      for (int64_t j = mid * c / chunks; j < mid * (c + 1) / chunks; ++j) {
        const float* row = x + j * inner;
        for (int64_t i = 0; i < inner; ++i) acc[i] = step(acc[i], row[i]);
      }
    }
    for (int64_t i = 0; i < inner; ++i) {
      Acc a = partial[0][i];
      for (int c = 1; c < chunks; ++c) a = combine(a, partial[c][i]);
      out[i] = static_cast<float>(a * scale);
    }
    return;
  }
  // Column reduction: each task owns a range of columns of every outer slice, so the rows are
  // streamed in memory order and each output is written by one thread.
  parallelFor(outer * inner, 4096, [&](int64_t c0, int64_t c1) {
    std::vector<Acc> acc;
    for (int64_t c = c0; c < c1;) {
      int64_t o = c / inner, i0 = c % inner, i1 = std::min(inner, i0 + (c1 - c));
      acc.assign(i1 - i0, init);
      for (int64_t j = 0; j < mid; ++j) {
        const float* row = x + (o * mid + j) * inner;
        for (int64_t i = i0; i < i1; ++i) acc[i - i0] = step(acc[i - i0], row[i]);
      }
      for (int64_t i = i0; i < i1; ++i) out[o * inner + i] = static_cast<float>(acc[i - i0] * scale);
      c += i1 - i0;
    }
  });
}

// reduce(op, x, outer, mid, inner, out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  auto op = static_cast<ReduceOp>(int64Arg(info, 0));
  const float* x = f32(info, 1);
  int64_t outer = int64Arg(info, 2), mid = int64Arg(info, 3), inner = int64Arg(info, 4);
  float* out = f32(info, 5);
  constexpr float inf = std::numeric_limits<float>::infinity();
  // Sums accumulate in double, as the tfjs CPU backend does in JS numbers; max and min
  // propagate NaN as it does.
  auto add = [](double a, double v) { return a + v; };
  auto mul = [](double a, double v) { return a * v; };
  auto maxNan = [](float a, float v) { return (v > a || v != v) ? v : a; };
  auto minNan = [](float a, float v) { return (v < a || v != v) ? v : a; };
  switch (op) {
    case ReduceOp::sum: reduceMid(x, out, outer, mid, inner, 0.0, add, add, 1.0); break;
    case ReduceOp::mean: reduceMid(x, out, outer, mid, inner, 0.0, add, add, 1.0 / static_cast<double>(mid)); break;
    case ReduceOp::max: reduceMid(x, out, outer, mid, inner, -inf, maxNan, maxNan, 1.0); break;
    case ReduceOp::min: reduceMid(x, out, outer, mid, inner, inf, minNan, minNan, 1.0); break;
    case ReduceOp::prod: reduceMid(x, out, outer, mid, inner, 1.0, mul, mul, 1.0); break;
  }
  return info.Env().Undefined();
}

// argMax(x, outer, mid, inner, out Int32Array): the first index of the maximum along mid.
Napi::Value ArgMax(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  int64_t outer = int64Arg(info, 1), mid = int64Arg(info, 2), inner = int64Arg(info, 3);
  int32_t* out = i32(info, 4);
  parallelFor(outer * inner, 1024, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      int64_t o = c / inner, i = c % inner;
      const float* p = x + o * mid * inner + i;
      float best = p[0];
      int32_t at = 0;
      for (int64_t j = 1; j < mid; ++j) {
        if (p[j * inner] > best) {
          best = p[j * inner];
          at = static_cast<int32_t>(j);
        }
      }
      out[c] = at;
    }
  });
  return info.Env().Undefined();
}

// softmax(x, rows, cols, out): along the last axis, shifted by the row max for stability.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const float* x = f32(info, 0);
  int64_t rows = int64Arg(info, 1), cols = int64Arg(info, 2);
  float* out = f32(info, 3);
  parallelFor(rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * cols;
      float* yr = out + r * cols;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < cols; ++j) m = std::fmax(m, xr[j]);
      float s = 0.f;
      for (int64_t j = 0; j < cols; ++j) s += (yr[j] = std::exp(xr[j] - m));
      for (int64_t j = 0; j < cols; ++j) yr[j] /= s;
    }
  });
  return info.Env().Undefined();
}

// countArgMax(logits, rows, cols, counts Float64Array) -> rows skipped: counts[argmax of row] += 1
// per row, so certification tallies classes without logits ever leaving the backend's buffers.
// A row with a NaN or infinite logit has no meaningful arg-max (every comparison with NaN is
// false, which would silently vote for class 0): it is not counted, and the number of such rows
// is returned so the caller can refuse the model.
Napi::Value CountArgMax(const Napi::CallbackInfo& info) {
  double* counts = info[3].As<Napi::Float64Array>().Data();
  int64_t skipped = tallyArgMax(f32(info, 0), int64Arg(info, 1), int64Arg(info, 2), counts, nullptr);
  return Napi::Number::New(info.Env(), static_cast<double>(skipped));
}

}  // namespace

int64_t tallyArgMax(const float* logits, int64_t rows, int64_t cols, double* counts, int32_t* labels) {
  int64_t skipped = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = logits + r * cols;
    bool finite = std::isfinite(p[0]);
    int64_t at = 0;
    for (int64_t j = 1; j < cols; ++j) {
      finite = finite && std::isfinite(p[j]);
      if (p[j] > p[at]) at = j;
    }
    if (finite) counts[at] += 1;
    else ++skipped;
    if (labels) labels[r] = finite ? static_cast<int32_t>(at) : -1;
  }
  return skipped;
}

void initReduce(Napi::Env env, Napi::Object exports) {
  exportFunction<Reduce>(env, exports, "reduce");
  exportFunction<ArgMax>(env, exports, "argMax");
  exportFunction<Softmax>(env, exports, "softmax");
  exportFunction<CountArgMax>(env, exports, "countArgMax");
}

}  // namespace sc
