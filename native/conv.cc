// 2-D convolution in NHWC with HWIO filters (the tfjs layouts), forward with fused
// bias/activation, backward to the input and backward to the filter, on oneDNN primitives.
// Activations stay in the caller's NHWC buffers; only filters are reordered into the
// blocked layout the JIT kernel wants, since they are small next to the activations.
// Every direction may run in bf16 (opt-in: certification, and training under --precision bf16):
// the operands it reads (input, filter, output gradient) are rounded to bfloat16 (round to
// nearest even, oneDNN's conversion), products accumulate in float32 and what it writes (the
// output, the input gradient, the filter gradient) stays float32.
#include <cmath>
#include <stdexcept>

#include "check.h"

namespace sc {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

/** Geometry shared by the three directions: NHWC input x, HWIO filter w, NHWC output y. */
struct ConvShape {
  int64_t n, ih, iw, ic, kh, kw, oc, oh, ow;
  int64_t sh, sw, dh, dw, pt, pb, pl, pr;

  memory::desc src(dt type = dt::f32) const { return {{n, ic, ih, iw}, type, tag::nhwc}; }
  memory::desc dst(dt type = dt::f32) const { return {{n, oc, oh, ow}, type, tag::nhwc}; }
  memory::desc userWeights() const { return {{oc, ic, kh, kw}, dt::f32, tag::hwio}; }
  memory::desc anyWeights(dt type = dt::f32) const { return {{oc, ic, kh, kw}, type, tag::any}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }  // oneDNN counts inserted gaps
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
  /** Element offsets in the user layouts: NHWC activations, HWIO filters. */
  int64_t xAt(int64_t b, int64_t h, int64_t w, int64_t c) const { return ((b * ih + h) * iw + w) * ic + c; }
  int64_t yAt(int64_t b, int64_t h, int64_t w, int64_t c) const { return ((b * oh + h) * ow + w) * oc + c; }
  int64_t wAt(int64_t h, int64_t w, int64_t i, int64_t o) const { return ((h * kw + w) * ic + i) * oc + o; }
  std::string key(const char* kind, int64_t extra = 0) const {
    return sc::key(kind, {n, ih, iw, ic, kh, kw, oc, oh, ow, sh, sw, dh, dw, pt, pb, pl, pr, extra});
  }
};

/** Reads xDims, wDims, yDims and the [sh, sw, dh, dw, pt, pb, pl, pr] array. */
ConvShape readShape(const std::vector<int64_t>& x, const std::vector<int64_t>& w,
                    const std::vector<int64_t>& y, const std::vector<int64_t>& p) {
  return {x[0], x[1], x[2], x[3], w[0], w[1], w[3], y[1], y[2],
          p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]};
}

/** The forward descriptor; `type` is the input's and the filter's (the output is float32 either way). */
dnnl::convolution_forward::desc forwardDesc(const ConvShape& s, dnnl::prop_kind kind, bool bias, dt type = dt::f32) {
  using dnnl::algorithm;
  if (bias) {
    memory::desc b({s.oc}, dt::f32, tag::a);
    return {kind, algorithm::convolution_direct, s.src(type), s.anyWeights(type), b, s.dst(),
            s.strides(), s.dilates(), s.padL(), s.padR()};
  }
  return {kind, algorithm::convolution_direct, s.src(type), s.anyWeights(type), s.dst(),
          s.strides(), s.dilates(), s.padL(), s.padR()};
}

/** A weights reorder between the user HWIO layout and a primitive's layout, if they differ. */
struct WeightsLayout {
  memory::desc user, prim;
  bool same;
  dnnl::reorder toPrim, toUser;
  memory buffer;  // reused scratch in the primitive's layout

  WeightsLayout(const memory::desc& u, const memory::desc& p, bool toPrimitive) : user(u), prim(p), same(u == p) {
    if (same) return;
    auto& eng = cpuEngine();
    buffer = memory(prim, eng);
    if (toPrimitive) toPrim = dnnl::reorder(dnnl::reorder::primitive_desc(eng, user, eng, prim));
    else toUser = dnnl::reorder(dnnl::reorder::primitive_desc(eng, prim, eng, user));
  }

  /** Weights the primitive reads: the user's memory, or its reorder into the primitive's layout (and type). */
  memory input(dnnl::stream& strm, memory userW) {
    if (same) return userW;
    toPrim.execute(strm, userW, buffer);
    return buffer;
  }
};


/**
 * An activation operand (x or dy) as a primitive of type `type` reads it from argument i: in f32
 * the caller's Float32Array; in bf16 the caller's bf16 rounding of it, a Uint16Array from
 * roundBf16 (NativeBackend.operand makes and keeps it), read in place.
 */
memory activation(const Napi::CallbackInfo& info, size_t i, const memory::desc& user, dt type) {
  auto& eng = cpuEngine();
  bool rounded = info[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array;
  if (rounded != (type == dt::bf16))
    throw std::invalid_argument(type == dt::bf16 ? "a bf16 convolution takes its activations rounded (Uint16Array from roundBf16)"
                                                 : "a float32 convolution takes Float32Array activations");
  if (!rounded) return memory(user, eng, f32(info, i));
  return memory(memory::desc(user.dims(), dt::bf16, tag::nhwc), eng, info[i].As<Napi::Uint16Array>().Data());
}

/** The reorder that rounds n float32 values to bf16, as every bf16 primitive's operand conversion does. */
struct RoundBf16 {
  memory::desc from, to;
  dnnl::reorder prim;
  explicit RoundBf16(int64_t n) : from({n}, dt::f32, tag::a), to({n}, dt::bf16, tag::a) {
    auto& eng = cpuEngine();
    prim = dnnl::reorder(dnnl::reorder::primitive_desc(eng, from, eng, to));
  }
};

// roundBf16(src: Float32Array, dst: Uint16Array): dst = src rounded to bfloat16 (nearest even), as
// oneDNN converts; the bf16 convolutions take dst in src's place (activation()).
Napi::Value RoundToBf16(const Napi::CallbackInfo& info) {
  auto n = static_cast<int64_t>(length(info, 0));
  if (static_cast<int64_t>(length(info, 1)) != n) throw std::invalid_argument("roundBf16: source and destination lengths differ");
  auto& c = cached<RoundBf16>(key("round_bf16", {n}), [&] { return std::make_shared<RoundBf16>(n); });
  auto& eng = cpuEngine();
  memory src(c.from, eng, f32(info, 0)), dst(c.to, eng, info[1].As<Napi::Uint16Array>().Data());
  c.prim.execute(cpuStream(), src, dst);
  cpuStream().wait();
  return info.Env().Undefined();
}

/** The operand type a call asks for: its argument i, true for bf16. */
dt typeArg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Boolean>().Value() ? dt::bf16 : dt::f32; }

/** The key suffix and error text of a primitive's operand type. */
const char* typeName(dt type) { return type == dt::bf16 ? "bf16" : "f32"; }

/** The residual's argument slot: the binary post-op comes first when present. */
constexpr int kResidualArg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;

struct ConvForward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  WeightsLayout weights;

  ConvForward(const ConvShape& s, bool bias, bool residual, Activation act, float alpha, dt type)
      : pd(makePd(s, bias, residual, act, alpha, type)), prim(pd), weights(s.userWeights(), pd.weights_desc(), true) {}

  static dnnl::convolution_forward::primitive_desc makePd(const ConvShape& s, bool bias, bool residual, Activation act, float alpha,
                                                          dt type) {
    using PD = dnnl::convolution_forward::primitive_desc;
    // The descriptor and attributes must outlive the candidates: oneDNN's implementation
    // iterator reads them again on next_impl().
    dnnl::post_ops ops;
    // y = conv + residual (a residual block's shortcut), before the activation. A binary add
    // reads the residual where it lies; the sum post-op would need it copied into y first and
    // measured 1.3× slower on the ResNet-20 shapes (2× in bf16).
    if (residual) ops.append_binary(dnnl::algorithm::binary_add, s.dst());
    appendActivation(ops, act, alpha);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    auto d = forwardDesc(s, dnnl::prop_kind::forward_inference, bias, type);
    return firstCorrect<PD>([&] { return PD(d, attr, cpuEngine()); }, [&](const PD& pd) {
      return forwardCorrect(s, pd, bias, residual, act, alpha);
    }, "a forward convolution " + s.key(typeName(type)));
  }

  /** Runs candidate `pd` on check inputs; y = act(Σ x·w + bias + residual) against the float64 reference. */
  static bool forwardCorrect(const ConvShape& s, const dnnl::convolution_forward::primitive_desc& pd, bool bias, bool residual,
                             Activation act, float alpha) {
    memory x = gridMemory(s.src(), 1), w = gridMemory(s.userWeights(), 2), y = zeroMemory(s.dst());
    memory b = gridMemory({{s.oc}, dt::f32, tag::a}, 3), r = gridMemory(s.dst(), 4);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, reordered(x, pd.src_desc())}, {DNNL_ARG_WEIGHTS, reordered(w, pd.weights_desc())}, {DNNL_ARG_DST, y}};
    if (bias) args.emplace(DNNL_ARG_BIAS, b);
    if (residual) args.emplace(kResidualArg, r);
    dnnl::primitive(pd).execute(cpuStream(), args);
    cpuStream().wait();
    auto* xp = static_cast<const float*>(x.get_data_handle());
    auto* wp = static_cast<const float*>(w.get_data_handle());
    auto* bp = static_cast<const float*>(b.get_data_handle());
    auto* rp = static_cast<const float*>(r.get_data_handle());
    return checkSampled(static_cast<const float*>(y.get_data_handle()), s.n * s.oh * s.ow * s.oc, s.kh * s.kw * s.ic,
                        [&](int64_t i, double& sumAbs) {
      int64_t o = i % s.oc, t = i / s.oc, ox = t % s.ow, oy = (t / s.ow) % s.oh, img = t / (s.ow * s.oh);
      double sum = 0;
      for (int64_t ky = 0; ky < s.kh; ++ky) {
        int64_t iy = oy * s.sh - s.pt + ky * s.dh;
        if (iy < 0 || iy >= s.ih) continue;
        for (int64_t kx = 0; kx < s.kw; ++kx) {
          int64_t ix = ox * s.sw - s.pl + kx * s.dw;
          if (ix < 0 || ix >= s.iw) continue;
          for (int64_t c = 0; c < s.ic; ++c) {
            double term = double(xp[s.xAt(img, iy, ix, c)]) * double(wp[s.wAt(ky, kx, c, o)]);
            sum += term;
            sumAbs += std::fabs(term);
          }
        }
      }
      if (bias) sum += bp[o], sumAbs += std::fabs(bp[o]);
      if (residual) sum += rp[i], sumAbs += std::fabs(rp[i]);
      return activate(sum, act, alpha);
    });
  }
};

// conv2d(x, xDims, w, wDims, y, yDims, params, bias|null, activation, alpha, residual|null, bf16):
// y = activation(conv(x, w) + bias + residual), in bf16 (inference only) when bf16 is true.
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  ConvShape s = readShape(dims(info, 1), dims(info, 3), dims(info, 5), dims(info, 6));
  float* bias = f32OrNull(info, 7);
  auto act = static_cast<Activation>(int64Arg(info, 8));
  float alpha = static_cast<float>(doubleArg(info, 9));
  float* residual = f32OrNull(info, 10);
  dt type = typeArg(info, 11);
  uint32_t alphaBits;
  std::memcpy(&alphaBits, &alpha, 4);
  int64_t variant = (bias ? 1 : 0) | (residual ? 2 : 0) | (type == dt::bf16 ? 4 : 0) | (static_cast<int64_t>(act) << 3) |
                    (int64_t(alphaBits) << 8);
  auto& c = cached<ConvForward>(s.key("conv", variant), [&] {
    return std::make_shared<ConvForward>(s, bias != nullptr, residual != nullptr, act, alpha, type);
  });
  auto& eng = cpuEngine();
  auto& strm = cpuStream();
  memory src = activation(info, 0, s.src(), type);
  memory dst(s.dst(), eng, f32(info, 4));
  memory w = c.weights.input(strm, memory(s.userWeights(), eng, f32(info, 2)));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory({{s.oc}, dt::f32, tag::a}, eng, bias));
  if (residual) args.emplace(kResidualArg, memory(s.dst(), eng, residual));
  c.prim.execute(strm, args);
  strm.wait();
  return info.Env().Undefined();
}

/** The forward primitive a backward one is created for: its operands of `type`, its output float32. */
dnnl::convolution_forward::primitive_desc forwardHint(const ConvShape& s, dt type) {
  return {forwardDesc(s, dnnl::prop_kind::forward_training, false, type), cpuEngine()};
}

struct ConvBackwardData {
  dnnl::convolution_backward_data::primitive_desc pd;
  dnnl::convolution_backward_data prim;
  WeightsLayout weights;
  ConvBackwardData(const ConvShape& s, dt type) : pd(makePd(s, type)), prim(pd), weights(s.userWeights(), pd.weights_desc(), true) {}

  static dnnl::convolution_backward_data::primitive_desc makePd(const ConvShape& s, dt type) {
    using PD = dnnl::convolution_backward_data::primitive_desc;
    auto& eng = cpuEngine();
    auto hint = forwardHint(s, type);
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, s.src(), s.anyWeights(type), s.dst(type),
                                            s.strides(), s.dilates(), s.padL(), s.padR());
    return firstCorrect<PD>([&] { return PD(d, eng, hint); }, [&](const PD& pd) {
      memory dy = gridMemory(s.dst(), 5), w = gridMemory(s.userWeights(), 6), dx = zeroMemory(s.src());
      dnnl::primitive(pd).execute(cpuStream(), {{DNNL_ARG_DIFF_DST, reordered(dy, pd.diff_dst_desc())},
                                                {DNNL_ARG_WEIGHTS, reordered(w, pd.weights_desc())}, {DNNL_ARG_DIFF_SRC, dx}});
      cpuStream().wait();
      auto* dyp = static_cast<const float*>(dy.get_data_handle());
      auto* wp = static_cast<const float*>(w.get_data_handle());
      // dx[b, iy, ix, c] = Σ dy[b, oy, ox, o]·w[ky, kx, c, o] over the outputs whose window reads (iy, ix).
      return checkSampled(static_cast<const float*>(dx.get_data_handle()), s.n * s.ih * s.iw * s.ic, s.kh * s.kw * s.oc,
                          [&](int64_t i, double& sumAbs) {
        int64_t c = i % s.ic, t = i / s.ic, ix = t % s.iw, iy = (t / s.iw) % s.ih, img = t / (s.iw * s.ih);
        double sum = 0;
        for (int64_t ky = 0; ky < s.kh; ++ky) {
          int64_t yy = iy + s.pt - ky * s.dh;
          if (yy < 0 || yy % s.sh != 0 || yy / s.sh >= s.oh) continue;
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            int64_t xx = ix + s.pl - kx * s.dw;
            if (xx < 0 || xx % s.sw != 0 || xx / s.sw >= s.ow) continue;
            for (int64_t o = 0; o < s.oc; ++o) {
              double term = double(dyp[s.yAt(img, yy / s.sh, xx / s.sw, o)]) * double(wp[s.wAt(ky, kx, c, o)]);
              sum += term;
              sumAbs += std::fabs(term);
            }
          }
        }
        return sum;
      });
    }, "a convolution's input gradient " + s.key(typeName(type)));
  }
};

// conv2dBackpropInput(dy, dyDims, w, wDims, dx, dxDims, params, bf16)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  ConvShape s = readShape(dims(info, 5), dims(info, 3), dims(info, 1), dims(info, 6));
  dt type = typeArg(info, 7);
  auto& c = cached<ConvBackwardData>(s.key("conv_bwd_data", type == dt::bf16), [&] { return std::make_shared<ConvBackwardData>(s, type); });
  auto& eng = cpuEngine();
  auto& strm = cpuStream();
  memory diffDst = activation(info, 0, s.dst(), type);
  memory diffSrc(s.src(), eng, f32(info, 4));
  memory w = c.weights.input(strm, memory(s.userWeights(), eng, f32(info, 2)));
  c.prim.execute(strm, {{DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, diffSrc}});
  strm.wait();
  return info.Env().Undefined();
}

struct ConvBackwardWeights {
  dnnl::convolution_backward_weights::primitive_desc pd;
  dnnl::convolution_backward_weights prim;
  WeightsLayout weights;
  ConvBackwardWeights(const ConvShape& s, dt type)
      : pd(makePd(s, type)), prim(pd), weights(s.userWeights(), pd.diff_weights_desc(), false) {}

  static dnnl::convolution_backward_weights::primitive_desc makePd(const ConvShape& s, dt type) {
    using PD = dnnl::convolution_backward_weights::primitive_desc;
    auto& eng = cpuEngine();
    auto hint = forwardHint(s, type);
    // The filter gradient stays float32 (the optimizer's master weights are float32).
    dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, s.src(type), s.anyWeights(), s.dst(type),
                                               s.strides(), s.dilates(), s.padL(), s.padR());
    return firstCorrect<PD>([&] { return PD(d, eng, hint); }, [&](const PD& pd) {
      // Sparse enough that the expected Σ|term| over n·oh·ow positions stays near 2⁹.
      double density = std::min(1.0, std::sqrt(2048.0 / double(s.n * s.oh * s.ow)));
      memory x = gridMemory(s.src(), 7, density), dy = gridMemory(s.dst(), 8, density), dw = zeroMemory(s.userWeights());
      bool plain = pd.diff_weights_desc() == s.userWeights();
      memory prim = plain ? dw : memory(pd.diff_weights_desc(), cpuEngine());
      dnnl::primitive(pd).execute(cpuStream(), {{DNNL_ARG_SRC, reordered(x, pd.src_desc())},
                                                {DNNL_ARG_DIFF_DST, reordered(dy, pd.diff_dst_desc())}, {DNNL_ARG_DIFF_WEIGHTS, prim}});
      if (!plain) dnnl::reorder(prim, dw).execute(cpuStream(), prim, dw);
      cpuStream().wait();
      auto* xp = static_cast<const float*>(x.get_data_handle());
      auto* dyp = static_cast<const float*>(dy.get_data_handle());
      // dw[ky, kx, c, o] = Σ x[b, iy, ix, c]·dy[b, oy, ox, o] over every output position and image.
      return checkSampled(static_cast<const float*>(dw.get_data_handle()), s.kh * s.kw * s.ic * s.oc, s.n * s.oh * s.ow,
                          [&](int64_t i, double& sumAbs) {
        int64_t o = i % s.oc, t = i / s.oc, c = t % s.ic, kx = (t / s.ic) % s.kw, ky = t / (s.ic * s.kw);
        double sum = 0;
        for (int64_t img = 0; img < s.n; ++img) {
          for (int64_t oy = 0; oy < s.oh; ++oy) {
            int64_t iy = oy * s.sh - s.pt + ky * s.dh;
            if (iy < 0 || iy >= s.ih) continue;
            for (int64_t ox = 0; ox < s.ow; ++ox) {
              int64_t ix = ox * s.sw - s.pl + kx * s.dw;
              if (ix < 0 || ix >= s.iw) continue;
              double term = double(xp[s.xAt(img, iy, ix, c)]) * double(dyp[s.yAt(img, oy, ox, o)]);
              sum += term;
              sumAbs += std::fabs(term);
            }
          }
        }
        return sum;
      });
    }, "a convolution's filter gradient " + s.key(typeName(type)));
  }
};

// conv2dBackpropFilter(x, xDims, dy, dyDims, dw, wDims, params, bf16)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  ConvShape s = readShape(dims(info, 1), dims(info, 5), dims(info, 3), dims(info, 6));
  dt type = typeArg(info, 7);
  auto& c = cached<ConvBackwardWeights>(s.key("conv_bwd_weights", type == dt::bf16),
                                        [&] { return std::make_shared<ConvBackwardWeights>(s, type); });
  auto& eng = cpuEngine();
  auto& strm = cpuStream();
  memory src = activation(info, 0, s.src(), type);
  memory diffDst = activation(info, 2, s.dst(), type);
  memory userDw(s.userWeights(), eng, f32(info, 4));
  memory dw = c.weights.same ? userDw : c.weights.buffer;
  c.prim.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
  if (!c.weights.same) c.weights.toUser.execute(strm, c.weights.buffer, userDw);
  strm.wait();
  return info.Env().Undefined();
}

}  // namespace

void initConv(Napi::Env env, Napi::Object exports) {
  exportFunction<Conv2d>(env, exports, "conv2d");
  exportFunction<Conv2dBackpropInput>(env, exports, "conv2dBackpropInput");
  exportFunction<Conv2dBackpropFilter>(env, exports, "conv2dBackpropFilter");
  exportFunction<RoundToBf16>(env, exports, "roundBf16");
}

}  // namespace sc
