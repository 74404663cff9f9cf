// The inference plan: a base classifier compiled once into a chain of oneDNN primitives, run
// by one native call per batch that draws the noise (the Philox stream of noise.h), normalizes,
// runs every layer and tallies the arg-max of each logit row. Activations stay in native
// buffers in the layout each primitive picks for this CPU ("any"), in bf16 between layers when
// the plan is bf16; nothing returns to JavaScript between layers. The graph arrives already
// compiled to a few op kinds by src/plan/compile.ts (batch norm folded into convolutions,
// flatten folded into the inner product's weights); this file only builds and runs primitives.
#include <algorithm>
#include <cstdlib>

#include "check.h"
#include "noise.h"

namespace sc {
namespace {

using tag = memory::format_tag;
using dt = memory::data_type;

/** Per-channel steps applied to x + σ·z before the first layer, in order (the model's normalization). */
enum class PrepOp : int { sub = 0, div = 1, mul = 2, add = 3 };
struct PrepStep {
  PrepOp op;
  std::vector<float> values;  // one per position of the NHWC image (its channel's value)
};

/** An aligned block of native memory that activations share by liveness. */
struct Block {
  void* data = nullptr;
  size_t bytes = 0;
  bool busy = false;
  ~Block() { std::free(data); }
};

/** One oneDNN primitive with every argument bound: running the plan is executing these in order. */
struct Step {
  std::string kind;
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  std::string impl;
};

/** The residual's argument slot: the binary post-op comes first when present. */
constexpr int kResidualArg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;

/** A stable text of a memory descriptor's data type and layout, for cache keys. */
std::string descKey(const memory::desc& d) {
  const auto& c = d.data;
  std::string k = std::to_string(c.data_type) + "/" + std::to_string(c.format_kind);
  for (int i = 0; i < c.ndims; ++i) k += ":" + std::to_string(c.dims[i]) + "," + std::to_string(c.format_desc.blocking.strides[i]);
  for (int i = 0; i < c.format_desc.blocking.inner_nblks; ++i)
    k += "|" + std::to_string(c.format_desc.blocking.inner_blks[i]) + "@" + std::to_string(c.format_desc.blocking.inner_idxs[i]);
  return k;
}

/** `d` with another data type and the same layout (a bf16 twin of a float32 buffer's layout, or back). */
memory::desc retyped(const memory::desc& d, dt type) {
  memory::desc r = d;
  r.data.data_type = static_cast<dnnl_data_type_t>(type);
  return r;
}

/** Geometry of a plan convolution in oneDNN's logical NCHW / OIHW dims. */
struct ConvGeometry {
  int64_t n, ic, ih, iw, oc, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  memory::dims src() const { return {n, ic, ih, iw}; }
  memory::dims dst() const { return {n, oc, oh, ow}; }
  memory::dims weights() const { return {oc, ic, kh, kw}; }
};

/**
 * Runs candidate `pd` on grid inputs (check.h) in plain float32 layouts reordered into the
 * candidate's, and compares its output, read back as float32, with a float64 reference.
 */
bool convCorrect(const dnnl::convolution_forward::primitive_desc& pd, const ConvGeometry& g, bool bias, const memory::desc* residual,
                 bool relu, bool bf16Out) {
  memory x = gridMemory({g.src(), dt::f32, tag::nchw}, 1), w = gridMemory({g.weights(), dt::f32, tag::oihw}, 2);
  memory b = gridMemory({{g.oc}, dt::f32, tag::a}, 3), r = gridMemory({g.dst(), dt::f32, tag::nchw}, 4);
  memory y(pd.dst_desc(), cpuEngine()), yPlain = zeroMemory({g.dst(), dt::f32, tag::nchw});
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, reordered(x, pd.src_desc())}, {DNNL_ARG_WEIGHTS, reordered(w, pd.weights_desc())}, {DNNL_ARG_DST, y}};
  if (bias) args.emplace(DNNL_ARG_BIAS, reordered(b, pd.bias_desc()));
  if (residual) args.emplace(kResidualArg, reordered(r, *residual));
  dnnl::primitive(pd).execute(cpuStream(), args);
  dnnl::reorder(y, yPlain).execute(cpuStream(), y, yPlain);
  cpuStream().wait();
  auto* xp = static_cast<const float*>(x.get_data_handle());
  auto* wp = static_cast<const float*>(w.get_data_handle());
  auto* bp = static_cast<const float*>(b.get_data_handle());
  auto* rp = static_cast<const float*>(r.get_data_handle());
  int64_t outputs = g.n * g.oc * g.oh * g.ow;
  return checkSampled(static_cast<const float*>(yPlain.get_data_handle()), outputs, g.kh * g.kw * g.ic,
                      [&](int64_t i, double& sumAbs) {
    int64_t ox = i % g.ow, oy = (i / g.ow) % g.oh, o = (i / (g.ow * g.oh)) % g.oc, img = i / (g.ow * g.oh * g.oc);
    double sum = 0;
    for (int64_t c = 0; c < g.ic; ++c) {
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        int64_t iy = oy * g.sh - g.pt + ky * g.dh;
        if (iy < 0 || iy >= g.ih) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          int64_t ix = ox * g.sw - g.pl + kx * g.dw;
          if (ix < 0 || ix >= g.iw) continue;
          double term = double(xp[((img * g.ic + c) * g.ih + iy) * g.iw + ix]) * double(wp[((o * g.ic + c) * g.kh + ky) * g.kw + kx]);
          sum += term;
          sumAbs += std::fabs(term);
        }
      }
    }
    if (bias) sum += bp[o], sumAbs += std::fabs(bp[o]);
    if (residual) sum += rp[i], sumAbs += std::fabs(rp[i]);
    return relu && sum < 0 ? 0.0 : sum;
  }, bf16Out ? std::ldexp(1.0, -9) : 0.0);
}

/** Reads a numeric property. */
int64_t intOf(const Napi::Object& o, const char* k) { return o.Get(k).As<Napi::Number>().Int64Value(); }
std::vector<int64_t> intsOf(const Napi::Object& o, const char* k) {
  auto a = o.Get(k).As<Napi::Array>();
  std::vector<int64_t> v(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) v[i] = a.Get(i).As<Napi::Number>().Int64Value();
  return v;
}
std::vector<float> floatsOf(const Napi::Object& o, const char* k) {
  auto a = o.Get(k).As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}
bool hasFloats(const Napi::Object& o, const char* k) { return o.Has(k) && o.Get(k).IsTypedArray(); }

class Plan {
 public:
  Plan(const Napi::Object& spec) {
    batch_ = intOf(spec, "batch");
    bf16_ = spec.Get("bf16").As<Napi::Boolean>().Value();
    auto input = intsOf(spec, "input");  // [h, w, c]
    h_ = input[0], w_ = input[1], c_ = input[2];
    auto prep = spec.Get("prep").As<Napi::Array>();
    for (uint32_t i = 0; i < prep.Length(); ++i) {
      auto s = prep.Get(i).As<Napi::Object>();
      auto op = static_cast<PrepOp>(intOf(s, "op"));
      auto perChannel = floatsOf(s, "values");
      // x − 0, x·1 and x/1 are x itself, bit for bit (−0 and NaN included): such a step is left out.
      // (x + 0 is not: −0 + 0 = +0.)
      bool identity = std::all_of(perChannel.begin(), perChannel.end(), [&](float v) {
        return op == PrepOp::sub ? v == 0.f : op == PrepOp::add ? false : v == 1.f;
      });
      if (identity) continue;
      std::vector<float> values(h_ * w_ * c_);
      for (size_t j = 0; j < values.size(); ++j) values[j] = perChannel[j % c_];
      prep_.push_back({op, std::move(values)});
    }
    auto valueDims = spec.Get("values").As<Napi::Array>();
    dims_.resize(valueDims.Length());
    descs_.resize(dims_.size());
    blockOf_.assign(dims_.size(), -1);
    for (uint32_t v = 0; v < valueDims.Length(); ++v) {
      auto a = valueDims.Get(v).As<Napi::Array>();
      dims_[v].push_back(batch_);
      for (uint32_t j = 0; j < a.Length(); ++j) dims_[v].push_back(a.Get(j).As<Napi::Number>().Int64Value());
    }
    output_ = intOf(spec, "output");
    classes_ = dims_[output_].back();
    auto ops = spec.Get("ops").As<Napi::Array>();
    std::vector<Napi::Object> list;
    for (uint32_t i = 0; i < ops.Length(); ++i) list.push_back(ops.Get(i).As<Napi::Object>());
    lastUse_.assign(dims_.size(), -1);
    for (size_t i = 0; i < list.size(); ++i)
      for (int64_t v : readsOf(list[i])) lastUse_[v] = static_cast<int64_t>(i);
    lastUse_[output_] = static_cast<int64_t>(list.size());

    // The input: float32 NHWC, the order the noise is drawn in, whatever layout the model wants.
    descs_[0] = memory::desc({batch_, c_, h_, w_}, dt::f32, tag::nhwc);
    input_ = bind(0);
    for (size_t i = 0; i < list.size(); ++i) {
      build(list[i]);
      release(static_cast<int64_t>(i));
    }
    // Logits leave as float32 rows [batch, classes].
    memory::desc plain({batch_, classes_}, dt::f32, tag::ab);
    logits_ = memory(plain, cpuEngine());
    memory out = valueMemory(output_);
    if (descs_[output_] == plain) logits_ = out;
    else push("reorder", dnnl::reorder(out, logits_), {{DNNL_ARG_FROM, out}, {DNNL_ARG_TO, logits_}}, "reorder");
  }

  int64_t batch() const { return batch_; }
  int64_t inputSize() const { return h_ * w_ * c_; }
  int64_t classes() const { return classes_; }

  /** Rows of noisy, normalized inputs: x + σ·z for stream samples [first, first + batch). */
  void drawInput(const float* x, const Key& key, uint64_t first, double sigma) {
    const int64_t d = inputSize();
    auto* dst = static_cast<float*>(input_.get_data_handle());
    forNoise(key, first * uint64_t(d), batch_ * d, sigma, [&](int64_t j, float z) {
      int64_t i = j % d;
      dst[j] = prepare(x[i] + z, i);
    });
  }

  /** Rows of given images, normalized; rows past `rows` are zero. */
  void copyInput(const float* images, int64_t rows) {
    int64_t d = inputSize();
    auto* dst = static_cast<float*>(input_.get_data_handle());
    parallelFor(batch_ * d, 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) dst[j] = j < rows * d ? prepare(images[j], j % d) : 0.f;
    });
  }

  /** Runs every step on the input buffer; the logits are then in logits(). */
  void forward() {
    auto& strm = cpuStream();
    for (auto& s : steps_) s.prim.execute(strm, s.args);
    strm.wait();
  }

  const float* logits() const { return static_cast<const float*>(logits_.get_data_handle()); }

  Napi::Object describe(Napi::Env env) const {
    auto out = Napi::Object::New(env);
    out.Set("batch", static_cast<double>(batch_));
    out.Set("bf16", bf16_);
    size_t bytes = 0;
    for (auto& b : blocks_) bytes += b->bytes;
    out.Set("activationBytes", static_cast<double>(bytes));
    auto steps = Napi::Array::New(env, steps_.size());
    for (size_t i = 0; i < steps_.size(); ++i) {
      auto s = Napi::Object::New(env);
      s.Set("kind", steps_[i].kind);
      s.Set("impl", steps_[i].impl);
      steps.Set(static_cast<uint32_t>(i), s);
    }
    out.Set("steps", steps);
    return out;
  }

 private:
  int64_t batch_, h_, w_, c_, classes_, output_;
  bool bf16_;
  std::vector<PrepStep> prep_;
  std::vector<std::vector<int64_t>> dims_;
  std::vector<memory::desc> descs_;
  std::vector<int> blockOf_;
  std::vector<int64_t> lastUse_;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::vector<Step> steps_;
  std::vector<memory> weights_;  // owned copies in each primitive's layout
  memory input_, logits_;

  /** The normalization steps on one value at position i of the image. */
  float prepare(float v, int64_t i) const {
    for (const auto& s : prep_) {
      float p = s.values[i];
      switch (s.op) {
        case PrepOp::sub: v = v - p; break;
        case PrepOp::div: v = v / p; break;
        case PrepOp::mul: v = v * p; break;
        case PrepOp::add: v = v + p; break;
      }
    }
    return v;
  }

  static std::vector<int64_t> readsOf(const Napi::Object& op) {
    std::string kind = op.Get("kind").As<Napi::String>();
    if (kind == "concat" ) return intsOf(op, "srcs");
    if (kind == "add") return {intOf(op, "a"), intOf(op, "b")};
    std::vector<int64_t> r{intOf(op, "src")};
    if (kind == "conv" && intOf(op, "residual") >= 0) r.push_back(intOf(op, "residual"));
    return r;
  }

  /** The activation type between layers. */
  dt actType(int64_t v) const { return bf16_ && v != output_ ? dt::bf16 : dt::f32; }
  dt computeType() const { return bf16_ ? dt::bf16 : dt::f32; }

  /** A free block of at least `bytes` (best fit), or a new one. */
  int acquire(size_t bytes) {
    int best = -1;
    for (size_t i = 0; i < blocks_.size(); ++i) {
      auto& b = *blocks_[i];
      if (!b.busy && b.bytes >= bytes && (best < 0 || b.bytes < blocks_[best]->bytes)) best = static_cast<int>(i);
    }
    if (best < 0) {
      auto b = std::make_unique<Block>();
      b->bytes = (bytes + 63) / 64 * 64;
      b->data = std::aligned_alloc(64, b->bytes);
      if (!b->data) throw std::runtime_error("out of memory for the plan's activations");
      blocks_.push_back(std::move(b));
      best = static_cast<int>(blocks_.size() - 1);
    }
    blocks_[best]->busy = true;
    return best;
  }

  /** Gives value v (whose desc is set) a block and returns its memory. */
  memory bind(int64_t v) {
    blockOf_[v] = acquire(descs_[v].get_size());
    return valueMemory(v);
  }
  memory valueMemory(int64_t v) const { return memory(descs_[v], cpuEngine(), blocks_[blockOf_[v]]->data); }

  /** Frees the blocks of values last read by op i. */
  void release(int64_t i) {
    for (size_t v = 0; v < lastUse_.size(); ++v)
      if (lastUse_[v] == i && blockOf_[v] >= 0) blocks_[blockOf_[v]]->busy = false;
  }

  void push(const std::string& kind, dnnl::primitive prim, std::unordered_map<int, memory> args, std::string impl) {
    steps_.push_back({kind, std::move(prim), std::move(args), std::move(impl)});
  }

  /** Value v as `want` reads it: its own memory, or a reorder into a scratch block freed after the op. */
  memory readAs(int64_t v, const memory::desc& want, std::vector<int>& scratch) {
    memory have = valueMemory(v);
    if (descs_[v] == want) return have;
    int block = acquire(want.get_size());
    scratch.push_back(block);
    memory m(want, cpuEngine(), blocks_[block]->data);
    push("reorder", dnnl::reorder(have, m), {{DNNL_ARG_FROM, have}, {DNNL_ARG_TO, m}}, "reorder");
    return m;
  }
  void freeScratch(const std::vector<int>& scratch) {
    for (int b : scratch) blocks_[b]->busy = false;
  }

  /** User weights (float32, plain `user` layout) copied into the primitive's layout and type. */
  memory ownWeights(const std::vector<float>& data, const memory::desc& user, const memory::desc& prim) {
    memory u(user, cpuEngine(), const_cast<float*>(data.data()));
    memory m(prim, cpuEngine());
    dnnl::reorder(u, m).execute(cpuStream(), u, m);
    cpuStream().wait();
    weights_.push_back(m);
    return m;
  }

  void build(const Napi::Object& op) {
    std::string kind = op.Get("kind").As<Napi::String>();
    int64_t dst = intOf(op, "dst");
    std::vector<int> scratch;
    if (kind == "conv") buildConv(op, dst, scratch);
    else if (kind == "pool") buildPool(op, dst, scratch);
    else if (kind == "dense") buildDense(op, dst, scratch);
    else if (kind == "batchnorm") buildBatchnorm(op, dst, scratch);
    else if (kind == "relu") buildRelu(op, dst, scratch);
    else if (kind == "add") buildAdd(op, dst, scratch);
    else if (kind == "concat") buildConcat(op, dst, scratch);
    else throw std::runtime_error("plan: unknown op kind " + kind);
    freeScratch(scratch);
  }

  void buildConv(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    using PD = dnnl::convolution_forward::primitive_desc;
    int64_t src = intOf(op, "src"), residual = intOf(op, "residual");
    auto k = intsOf(op, "kernel"), s = intsOf(op, "strides"), p = intsOf(op, "pads"), dil = intsOf(op, "dilations");
    bool relu = op.Get("relu").As<Napi::Boolean>().Value();
    bool bias = hasFloats(op, "bias");
    const auto& xd = dims_[src];
    const auto& yd = dims_[dst];
    ConvGeometry g{batch_, xd[1], xd[2], xd[3], yd[1], yd[2], yd[3], k[0], k[1], s[0], s[1], dil[0], dil[1], p[0], p[1], p[2], p[3]};
    dt ct = computeType(), yt = actType(dst);
    memory::desc w(g.weights(), ct, tag::any), b({g.oc}, dt::f32, tag::a);
    // With a shortcut added, the output takes the shortcut's layout: oneDNN's fast kernels take
    // a binary post-op only when its operand is laid out like the output.
    memory::desc y = residual >= 0 ? retyped(descs_[residual], yt) : memory::desc(g.dst(), yt, tag::any);
    dnnl::post_ops ops;
    if (residual >= 0) ops.append_binary(dnnl::algorithm::binary_add, descs_[residual]);
    if (relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    // The producer's layout first, so that no reorder runs between layers; any layout if that has
    // no implementation here but the reference one.
    std::vector<memory::desc> candidates{retyped(descs_[src], ct), memory::desc(g.src(), ct, tag::any)};
    std::string cacheKey = key("plan-conv", {g.n, g.ic, g.ih, g.iw, g.oc, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt,
                                             g.pl, g.pb, g.pr, bias, relu, static_cast<int64_t>(yt)}) +
                           (residual >= 0 ? descKey(descs_[residual]) : "-") + descKey(descs_[src]);
    auto& pd = cached<PD>(cacheKey, [&] {
      for (size_t attempt = 0; attempt < candidates.size(); ++attempt) {
        const memory::desc& x = candidates[attempt];
        dnnl::convolution_forward::desc d = bias ? dnnl::convolution_forward::desc(
                                                       dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, x, w, b, y,
                                                       {g.sh, g.sw}, {g.dh - 1, g.dw - 1}, {g.pt, g.pl}, {g.pb, g.pr})
                                                 : dnnl::convolution_forward::desc(
                                                       dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, x, w, y,
                                                       {g.sh, g.sw}, {g.dh - 1, g.dw - 1}, {g.pt, g.pl}, {g.pb, g.pr});
        try {
          PD chosen = firstCorrect<PD>([&] { return PD(d, attr, cpuEngine()); }, [&](const PD& c) {
            return convCorrect(c, g, bias, residual >= 0 ? &descs_[residual] : nullptr, relu, yt == dt::bf16);
          }, "a plan convolution " + cacheKey);
          bool reference = std::string(chosen.impl_info_str()).find("ref") != std::string::npos;
          if (!reference || attempt + 1 == candidates.size()) return std::make_shared<PD>(chosen);
        } catch (const dnnl::error&) {
          if (attempt + 1 == candidates.size()) throw;
        }
      }
      throw std::runtime_error("unreachable");
    });
    memory x = readAs(src, pd.src_desc(), scratch);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x}};
    args.emplace(DNNL_ARG_WEIGHTS, ownWeights(floatsOf(op, "weights"), {g.weights(), dt::f32, tag::oihw}, pd.weights_desc()));
    if (bias) args.emplace(DNNL_ARG_BIAS, ownWeights(floatsOf(op, "bias"), b, pd.bias_desc()));
    if (residual >= 0) args.emplace(kResidualArg, valueMemory(residual));
    descs_[dst] = pd.dst_desc();
    args.emplace(DNNL_ARG_DST, bind(dst));
    push("conv", dnnl::convolution_forward(pd), std::move(args), pd.impl_info_str());
  }

  void buildPool(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    int64_t src = intOf(op, "src");
    auto k = intsOf(op, "kernel"), s = intsOf(op, "strides"), p = intsOf(op, "pads");
    int64_t algo = intOf(op, "algo");  // 0 max, 1 average over the pixels inside, 2 average counting padding
    auto a = algo == 0 ? dnnl::algorithm::pooling_max
                       : algo == 1 ? dnnl::algorithm::pooling_avg_exclude_padding : dnnl::algorithm::pooling_avg_include_padding;
    memory::desc y(dims_[dst], actType(dst), tag::any);
    dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, a, descs_[src], y, {s[0], s[1]}, {k[0], k[1]}, {p[0], p[1]},
                                  {p[2], p[3]});
    dnnl::pooling_forward::primitive_desc pd(d, cpuEngine());
    memory x = readAs(src, pd.src_desc(), scratch);
    descs_[dst] = pd.dst_desc();
    push("pool", dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, bind(dst)}}, pd.impl_info_str());
  }

  void buildDense(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    int64_t src = intOf(op, "src");
    bool relu = op.Get("relu").As<Napi::Boolean>().Value();
    const auto& xd = dims_[src];
    int64_t out = dims_[dst][1];
    memory::dims wd{out};
    for (size_t i = 1; i < xd.size(); ++i) wd.push_back(xd[i]);
    memory::desc userW(wd, dt::f32, xd.size() == 4 ? tag::oihw : tag::ab);
    dt ct = computeType();
    memory::desc x = retyped(descs_[src], ct), w(wd, ct, tag::any), b({out}, dt::f32, tag::a);
    memory::desc y({batch_, out}, actType(dst), dst == output_ ? tag::ab : tag::any);
    dnnl::post_ops ops;
    if (relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, x, w, b, y);
    dnnl::inner_product_forward::primitive_desc pd(d, attr, cpuEngine());
    memory xm = readAs(src, pd.src_desc(), scratch);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}};
    args.emplace(DNNL_ARG_WEIGHTS, ownWeights(floatsOf(op, "weights"), userW, pd.weights_desc()));
    args.emplace(DNNL_ARG_BIAS, ownWeights(floatsOf(op, "bias"), b, pd.bias_desc()));
    descs_[dst] = pd.dst_desc();
    args.emplace(DNNL_ARG_DST, bind(dst));
    push("dense", dnnl::inner_product_forward(pd), std::move(args), pd.impl_info_str());
  }

  void buildBatchnorm(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    int64_t src = intOf(op, "src");
    bool relu = op.Get("relu").As<Napi::Boolean>().Value();
    auto flags = dnnl::normalization_flags::use_global_stats | dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    if (relu) flags = flags | dnnl::normalization_flags::fuse_norm_relu;
    memory::desc x = retyped(descs_[src], actType(dst));
    dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, x, static_cast<float>(op.Get("epsilon").As<Napi::Number>().DoubleValue()), flags);
    dnnl::batch_normalization_forward::primitive_desc pd(d, cpuEngine());
    memory xm = readAs(src, pd.src_desc(), scratch);
    memory::desc channel({dims_[src][1]}, dt::f32, tag::a);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}};
    args.emplace(DNNL_ARG_MEAN, ownWeights(floatsOf(op, "mean"), channel, channel));
    args.emplace(DNNL_ARG_VARIANCE, ownWeights(floatsOf(op, "variance"), channel, channel));
    args.emplace(DNNL_ARG_SCALE, ownWeights(floatsOf(op, "gamma"), channel, channel));
    args.emplace(DNNL_ARG_SHIFT, ownWeights(floatsOf(op, "beta"), channel, channel));
    descs_[dst] = pd.dst_desc();
    args.emplace(DNNL_ARG_DST, bind(dst));
    push("batchnorm", dnnl::batch_normalization_forward(pd), std::move(args), pd.impl_info_str());
  }

  void buildRelu(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    int64_t src = intOf(op, "src");
    memory::desc x = retyped(descs_[src], actType(dst));
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_relu, x, 0.f, 0.f);
    dnnl::eltwise_forward::primitive_desc pd(d, cpuEngine());
    memory xm = readAs(src, pd.src_desc(), scratch);
    descs_[dst] = pd.dst_desc();
    push("relu", dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, bind(dst)}}, pd.impl_info_str());
  }

  void buildAdd(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    int64_t a = intOf(op, "a"), b = intOf(op, "b");
    bool relu = op.Get("relu").As<Napi::Boolean>().Value();
    memory::desc y = retyped(descs_[a], actType(dst));
    dnnl::post_ops ops;
    if (relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    dnnl::binary::desc d(dnnl::algorithm::binary_add, descs_[a], descs_[b], y);
    dnnl::binary::primitive_desc pd(d, attr, cpuEngine());
    memory am = readAs(a, pd.src_desc(0), scratch), bm = readAs(b, pd.src_desc(1), scratch);
    descs_[dst] = pd.dst_desc();
    push("add", dnnl::binary(pd), {{DNNL_ARG_SRC_0, am}, {DNNL_ARG_SRC_1, bm}, {DNNL_ARG_DST, bind(dst)}}, pd.impl_info_str());
  }

  void buildConcat(const Napi::Object& op, int64_t dst, std::vector<int>& scratch) {
    auto srcs = intsOf(op, "srcs");
    dt type = actType(dst);
    std::vector<memory::desc> ins;
    for (int64_t v : srcs) ins.push_back(retyped(descs_[v], type));
    dnnl::concat::primitive_desc pd(memory::desc(dims_[dst], type, tag::any), 1, ins, cpuEngine());
    std::unordered_map<int, memory> args;
    for (size_t i = 0; i < srcs.size(); ++i) args.emplace(DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), readAs(srcs[i], ins[i], scratch));
    descs_[dst] = pd.dst_desc();
    args.emplace(DNNL_ARG_DST, bind(dst));
    push("concat", dnnl::concat(pd), std::move(args), pd.impl_info_str());
  }
};

Plan& planOf(const Napi::CallbackInfo& info) { return *info[0].As<Napi::External<Plan>>().Data(); }

// createPlan(spec) -> plan: builds every primitive (and checks each convolution, check.h).
Napi::Value CreatePlan(const Napi::CallbackInfo& info) {
  auto* plan = new Plan(info[0].As<Napi::Object>());
  return Napi::External<Plan>::New(info.Env(), plan, [](Napi::Env, Plan* p) { delete p; });
}

// planCount(plan, x, seed, stream, substream, firstSample, sigma, rows, counts, labels|null) -> rows
// skipped: one batch of the noise stream (samples [firstSample, firstSample + batch)) through the
// plan, counts[arg-max] += 1 for its first `rows` rows, and labels[r] = that arg-max when given.
// A row with a non-finite logit is not counted (its label is −1).
Napi::Value PlanCount(const Napi::CallbackInfo& info) {
  Plan& plan = planOf(info);
  if (static_cast<int64_t>(length(info, 1)) != plan.inputSize()) throw std::runtime_error("planCount: x has the wrong size");
  Key key = readKey(info, 2);
  auto first = static_cast<uint64_t>(doubleArg(info, 5));
  double sigma = doubleArg(info, 6);
  int64_t rows = std::min(int64Arg(info, 7), plan.batch());
  double* counts = info[8].As<Napi::Float64Array>().Data();
  int32_t* labels = info.Length() > 9 && info[9].IsTypedArray() ? i32(info, 9) : nullptr;
  plan.drawInput(f32(info, 1), key, first, sigma);
  plan.forward();
  int64_t skipped = tallyArgMax(plan.logits(), rows, plan.classes(), counts, labels);
  return Napi::Number::New(info.Env(), static_cast<double>(skipped));
}

// planLogits(plan, images, rows, out): the logits of `rows` NHWC images, batch by batch.
Napi::Value PlanLogits(const Napi::CallbackInfo& info) {
  Plan& plan = planOf(info);
  const float* images = f32(info, 1);
  int64_t rows = int64Arg(info, 2), d = plan.inputSize(), k = plan.classes();
  float* out = f32(info, 3);
  if (static_cast<int64_t>(length(info, 1)) < rows * d || static_cast<int64_t>(length(info, 3)) < rows * k)
    throw std::runtime_error("planLogits: buffers too small for the rows");
  for (int64_t done = 0; done < rows; done += plan.batch()) {
    int64_t n = std::min(plan.batch(), rows - done);
    plan.copyInput(images + done * d, n);
    plan.forward();
    std::memcpy(out + done * k, plan.logits(), sizeof(float) * n * k);
  }
  return info.Env().Undefined();
}

// planInfo(plan) -> { batch, bf16, activationBytes, steps: [{ kind, impl }] }
Napi::Value PlanInfo(const Napi::CallbackInfo& info) { return planOf(info).describe(info.Env()); }

}  // namespace

void initPlan(Napi::Env env, Napi::Object exports) {
  exportFunction<CreatePlan>(env, exports, "createPlan");
  exportFunction<PlanCount>(env, exports, "planCount");
  exportFunction<PlanLogits>(env, exports, "planLogits");
  exportFunction<PlanInfo>(env, exports, "planInfo");
}

}  // namespace sc
