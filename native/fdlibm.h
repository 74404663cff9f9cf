// log, sin and cos exactly as V8 evaluates Math.log / Math.sin / Math.cos (its port of Sun's
// fdlibm 5.3), restricted to the arguments Box–Muller produces: log on (0, 1), sin/cos on
// (0, 2π). Matching V8 bit for bit is what lets native noise equal src/noise/gaussian.ts.
// Every operation is a plain IEEE double operation in the published order; the addon is
// compiled with -ffp-contract=off so none is fused into an FMA.
//
// The algorithms and coefficients are fdlibm's:
// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
// Developed at SunSoft, a Sun Microsystems, Inc. business.
// Permission to use, copy, modify, and distribute this software is freely granted,
// provided that this notice is preserved.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace sc::fdlibm {

inline int32_t high(double x) {
  uint64_t b;
  std::memcpy(&b, &x, 8);
  return static_cast<int32_t>(b >> 32);
}
inline double withHigh(double x, int32_t hi) {
  uint64_t b;
  std::memcpy(&b, &x, 8);
  b = (b & 0xffffffffULL) | (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32);
  std::memcpy(&x, &b, 8);
  return x;
}
inline double fromWords(int32_t hi, uint32_t lo) {
  uint64_t b = (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32) | lo;
  double x;
  std::memcpy(&x, &b, 8);
  return x;
}

/** Natural log for finite x > 2^-1022 (Box–Muller's u is at least 2^-33). */
inline double log(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  constexpr double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01,
                   Lg3 = 2.857142874366239149e-01, Lg4 = 2.222219843214978396e-01,
                   Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                   Lg7 = 1.479819860511658591e-01;
  int32_t hx = high(x);
  int32_t k = (hx >> 20) - 1023;
  hx &= 0x000fffff;
  int32_t i = (hx + 0x95f64) & 0x100000;
  x = withHigh(x, hx | (i ^ 0x3ff00000));  // x or x/2 into [sqrt(2)/2, sqrt(2))
  k += i >> 20;
  double f = x - 1.0;
  double dk;
  if ((0x000fffff & (2 + hx)) < 3) {  // |f| < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      dk = static_cast<double>(k);
      return dk * ln2_hi + dk * ln2_lo;
    }
    double R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    dk = static_cast<double>(k);
    return dk * ln2_hi - ((R - dk * ln2_lo) - f);
  }
  double s = f / (2.0 + f);
  dk = static_cast<double>(k);
  double z = s * s;
  i = hx - 0x6147a;
  double w = z * z;
  int32_t j = 0x6b851 - hx;
  double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  i |= j;
  double R = t2 + t1;
  if (i > 0) {
    double hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
}

/** sin on [-π/4, π/4] of x + y (y the tail of a reduced argument; iy = 0 when y is 0). */
inline double kernelSin(double x, double y, int iy) {
  constexpr double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                   S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                   S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  int32_t ix = high(x) & 0x7fffffff;
  if (ix < 0x3e400000 && static_cast<int>(x) == 0) return x;
  double z = x * x;
  double v = z * x;
  double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  if (iy == 0) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

/** cos on [-π/4, π/4] of x + y. */
inline double kernelCos(double x, double y) {
  constexpr double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                   C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                   C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  int32_t ix = high(x) & 0x7fffffff;
  if (ix < 0x3e400000 && static_cast<int>(x) == 0) return 1.0;
  double z = x * x;
  double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3FD33333) return 1.0 - (0.5 * z - (z * r - x * y));
  double qx = ix > 0x3fe90000 ? 0.28125 : fromWords(ix - 0x00200000, 0);
  double hz = 0.5 * z - qx;
  double a = 1.0 - qx;
  return a - (hz - (z * r - x * y));
}

/** x = n·π/2 + (y0 + y1) with |y0 + y1| ≤ π/4, for 0 < x < 2^19·π/2; returns n. */
inline int remPio2(double x, double& y0, double& y1) {
  constexpr double invpio2 = 6.36619772367581382433e-01;
  constexpr double pio2_1 = 1.57079632673412561417e+00, pio2_1t = 6.07710050650619224932e-11,
                   pio2_2 = 6.07710050630396597660e-11, pio2_2t = 2.02226624879595063154e-21,
                   pio2_3 = 2.02226624871116645580e-21, pio2_3t = 8.47842766036889956997e-32;
  // High words of n·π/2, n = 1..4: arguments that close to a multiple need a longer π/2.
  static constexpr int32_t npio2_hw[4] = {0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB};
  int32_t ix = high(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) {
    y0 = x;
    y1 = 0;
    return 0;
  }
  if (ix < 0x4002d97c) {  // |x| < 3π/4: n = 1
    double z = x - pio2_1;
    if (ix != 0x3ff921fb) {
      y0 = z - pio2_1t;
      y1 = (z - y0) - pio2_1t;
    } else {
      z -= pio2_2;
      y0 = z - pio2_2t;
      y1 = (z - y0) - pio2_2t;
    }
    return 1;
  }
  double t = std::fabs(x);
  int n = static_cast<int>(t * invpio2 + 0.5);
  double fn = static_cast<double>(n);
  double r = t - fn * pio2_1;
  double w = fn * pio2_1t;
  if (n <= 4 && ix != npio2_hw[n - 1]) {
    y0 = r - w;
  } else {
    int32_t j = ix >> 20;
    y0 = r - w;
    int32_t i = j - ((high(y0) >> 20) & 0x7ff);
    if (i > 16) {
      t = r;
      w = fn * pio2_2;
      r = t - w;
      w = fn * pio2_2t - ((t - r) - w);
      y0 = r - w;
      i = j - ((high(y0) >> 20) & 0x7ff);
      if (i > 49) {
        t = r;
        w = fn * pio2_3;
        r = t - w;
        w = fn * pio2_3t - ((t - r) - w);
        y0 = r - w;
      }
    }
  }
  y1 = (r - y0) - w;
  return n;
}

/** Both sin(x) and cos(x) for 0 < x < 2π, sharing one argument reduction. */
inline void sincos(double x, double& s, double& c) {
  double y0, y1;
  int32_t ix = high(x) & 0x7fffffff;
  if (ix <= 0x3fe921fb) {
    s = kernelSin(x, 0.0, 0);
    c = kernelCos(x, 0.0);
    return;
  }
  int n = remPio2(x, y0, y1);
  double ks = kernelSin(y0, y1, 1), kc = kernelCos(y0, y1);
  switch (n & 3) {
    case 0: s = ks; c = kc; break;
    case 1: s = kc; c = -ks; break;
    case 2: s = -ks; c = -kc; break;
    default: s = -kc; c = ks; break;
  }
}

}  // namespace sc::fdlibm
