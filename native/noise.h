// Seeded Gaussian noise, bit-for-bit the stream of src/noise/gaussian.ts: Philox4x32-10 on
// counter (block, stream, substream) and key (seed), Box–Muller in double, sigma·z rounded to
// float32. Each block of 4 normals depends only on its index, so threads fill disjoint
// ranges and the result does not depend on how a stream is split into batches. Shared by the
// noise functions (noise.cc) and the inference plan (plan.cc), which draws its batch itself.
#pragma once

#include <cmath>

#include "common.h"
#include "fdlibm.h"

namespace sc {

/** The stream of one certification: seed (two words), stream and substream, as in gaussian.ts. */
struct Key {
  uint32_t k0, k1, stream, substream;
};

/** Philox4x32-10 block for 64-bit block index b. */
inline void philox(uint64_t b, const Key& key, uint32_t out[4]) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  uint32_t x0 = static_cast<uint32_t>(b), x1 = static_cast<uint32_t>(b >> 32), x2 = key.stream, x3 = key.substream;
  uint32_t k0 = key.k0, k1 = key.k1;
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = static_cast<uint64_t>(M0) * x0;
    uint64_t p1 = static_cast<uint64_t>(M1) * x2;
    x0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0;
    x1 = static_cast<uint32_t>(p1);
    x2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x3 = static_cast<uint32_t>(p0);
    k0 += W0;
    k1 += W1;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** The 4 float32 noise values sigma·z of block b. */
inline void gaussianBlock(uint64_t b, const Key& key, double sigma, float out[4]) {
  constexpr double kTwoPi = 2 * 3.141592653589793;
  constexpr double kInv2_32 = 1.0 / 4294967296.0;
  uint32_t w[4];
  philox(b, key, w);
  double r1 = std::sqrt(-2 * fdlibm::log((w[0] + 0.5) * kInv2_32));
  double t1 = kTwoPi * ((w[1] + 0.5) * kInv2_32);
  double r2 = std::sqrt(-2 * fdlibm::log((w[2] + 0.5) * kInv2_32));
  double t2 = kTwoPi * ((w[3] + 0.5) * kInv2_32);
  double s1, c1, s2, c2;
  fdlibm::sincos(t1, s1, c1);
  fdlibm::sincos(t2, s2, c2);
  out[0] = static_cast<float>(sigma * (r1 * c1));
  out[1] = static_cast<float>(sigma * (r1 * s1));
  out[2] = static_cast<float>(sigma * (r2 * c2));
  out[3] = static_cast<float>(sigma * (r2 * s2));
}

/**
 * Calls put(j, noise) for j in [0, n) with the noise of stream element offset + j, in parallel
 * over block-aligned ranges.
 */
template <typename Put>
void forNoise(const Key& key, uint64_t offset, int64_t n, double sigma, Put put) {
  if (n <= 0) return;
  uint64_t firstBlock = offset / 4, lastBlock = (offset + n - 1) / 4;
  int64_t blocks = static_cast<int64_t>(lastBlock - firstBlock + 1);
  parallelFor(blocks, 1024, [&](int64_t b0, int64_t b1) {
    float z[4];
    for (int64_t bi = b0; bi < b1; ++bi) {
      uint64_t b = firstBlock + bi;
      gaussianBlock(b, key, sigma, z);
      for (int lane = 0; lane < 4; ++lane) {
        uint64_t e = 4 * b + lane;
        if (e < offset || e >= offset + n) continue;
        put(static_cast<int64_t>(e - offset), z[lane]);
      }
    }
  });
}

/** The stream named by arguments i..i+2 of an addon call: seed (a double up to 2⁶⁴), stream, substream. */
inline Key readKey(const Napi::CallbackInfo& info, size_t i) {
  double seed = doubleArg(info, i);
  return {static_cast<uint32_t>(std::fmod(seed, 4294967296.0)), static_cast<uint32_t>(std::floor(seed / 4294967296.0)),
          static_cast<uint32_t>(int64Arg(info, i + 1)), static_cast<uint32_t>(int64Arg(info, i + 2))};
}

}  // namespace sc
