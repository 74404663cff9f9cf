// Checks of oneDNN implementations against a float64 reference, and the fixed rule that picks
// which implementation a shape runs: shared by the tfjs kernels (conv.cc) and the inference
// plan (plan.cc), so both run only kernels that compute what they claim.
#pragma once

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

#include "common.h"

namespace sc {

using dnnl::memory;

/**
 * Check inputs: multiples of 1/64 in [-1, 1] from a fixed LCG, nonzero with probability
 * `density`. They are exact in bfloat16, so the bf16 path reads the values the reference reads;
 * their products are multiples of 2⁻¹², so every partial sum below 2¹² in magnitude is exact in
 * float32 and a correct kernel makes no error at all unless its sums grow beyond that. Sparse
 * inputs keep the long sums of a filter gradient (one term per output position and image) there.
 */
inline memory gridMemory(const memory::desc& d, uint32_t seed, double density = 1.0) {
  memory m(d, cpuEngine());
  auto* p = static_cast<float*>(m.get_data_handle());
  uint32_t state = seed * 2654435761u + 1u;
  const auto keep = static_cast<uint32_t>(density * 65535.0);
  for (size_t i = 0, n = d.get_size() / sizeof(float); i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    p[i] = ((state >> 9) & 0xffffu) <= keep ? static_cast<float>(static_cast<int>(state >> 25) - 64) / 64.f : 0.f;
  }
  return m;
}

/** A float32 buffer in the descriptor's logical dims with the given plain layout, zeroed. */
inline memory zeroMemory(const memory::desc& d) {
  memory m(d, cpuEngine());
  std::memset(m.get_data_handle(), 0, d.get_size());
  return m;
}

/** `from` (user layout) reordered into `to`'s layout and data type, or `from` itself if they agree. */
inline memory reordered(memory from, const memory::desc& to) {
  if (from.get_desc() == to) return from;
  memory m(to, cpuEngine());
  dnnl::reorder(from, m).execute(cpuStream(), from, m);
  cpuStream().wait();
  return m;
}

/**
 * Compares a kernel's outputs with a float64 reference on a sample of them: all outputs when the
 * reference costs at most kCheckTerms products, else an evenly strided subset (stride coprime to
 * every layout dimension, so it crosses channels, borders and images). `reference(i, sumAbs)`
 * returns output i computed in double and sets sumAbs to Σ|term| over its `terms` summands.
 * When Σ|term| < 2¹², every partial sum of grid inputs is exact (gridMemory), so the kernel must
 * match exactly, up to 4 ulp of the result for the activation. Otherwise a float32 sum of K terms
 * in any order is within γ_K·Σ|term| of the exact sum (Higham, Accuracy and Stability of
 * Numerical Algorithms, 2nd ed., §3.1, γ_K = K·u/(1 − K·u), u = 2⁻²⁴), and twice that is allowed.
 * A kernel that drops, repeats or misplaces one nonzero term misses by at least 2⁻¹². A kernel whose
 * output is stored in bfloat16 passes outUnit = 2⁻⁹, the unit roundoff of that rounding.
 */
inline bool checkSampled(const float* got, int64_t outputs, int64_t terms, const std::function<double(int64_t, double&)>& reference,
                         double outUnit = 0) {
  constexpr int64_t kCheckTerms = int64_t(1) << 24;
  int64_t samples = std::max<int64_t>(1, std::min<int64_t>(outputs, kCheckTerms / std::max<int64_t>(terms, 1)));
  int64_t stride = outputs / samples;
  if (stride > 1 && stride % 2 == 0) ++stride;  // odd, and then coprime to the power-of-two extents
  const double u = std::ldexp(1.0, -24);
  const double gamma = 2.0 * double(terms + 2) * u / (1.0 - double(terms + 2) * u);
  for (int64_t s = 0; s < samples; ++s) {
    int64_t i = (s * stride) % outputs;
    double sumAbs = 0;
    double want = reference(i, sumAbs);
    double err = std::fabs(double(got[i]) - want);
    double sums = sumAbs < 4096.0 ? 0.0 : gamma * sumAbs;
    if (!(err <= sums + 4.0 * std::max(u, outUnit) * std::fabs(want))) return false;
  }
  return true;
}

/** An activation applied in double, as the reference of a fused post-op. */
inline double activate(double v, Activation act, float alpha) {
  switch (act) {
    case Activation::relu: return v > 0 ? v : 0;
    case Activation::relu6: return std::min(6.0, std::max(0.0, v));
    case Activation::leakyrelu: return v > 0 ? v : double(alpha) * v;
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-v));
    case Activation::elu: return v > 0 ? v : std::expm1(v);
    default: return v;
  }
}

/**
 * The implementation a shape runs. oneDNN lists the implementations that accept a descriptor,
 * best first by its own heuristics for this CPU and shape; the first that passes `correct` (its
 * outputs on check inputs against a float64 reference) is used. A fixed rule rather than the
 * fastest by a timing: which kernel runs, and so how its sums round, must not depend on what
 * else the machine was doing when the shape was first seen, or the same model, input and seed
 * could give other counts in another process, and training runs with one seed other weights.
 * oneDNN's own reference implementation comes last and is taken only if every other fails.
 */
template <typename PD>
PD firstCorrect(const std::function<PD()>& make, const std::function<bool(const PD&)>& correct, const std::string& what) {
  PD pd = make();
  int index = 0;
  do {
    if (correct(pd)) {
      PD chosen = make();
      for (int i = 0; i < index; ++i) chosen.next_impl();
      return chosen;
    }
    ++index;
  } while (pd.next_impl());
  throw std::runtime_error("no oneDNN implementation of " + what + " passes the check against the float64 reference");
}

}  // namespace sc
